"""Sending to a lead through a real SMTP server in the test process: from a template
with the lead's and the sender's fields, logged on the lead's timeline, threaded by its
Message-ID; refused with a clear error (and nothing written) when the address is missing
or malformed, the lead is do-not-contact or has not consented, or the address is
suppressed; 403 without the permission, 404 outside the user's scope or organization;
a refusing or absent server leaves the message queued for a retry or failed for good."""

from __future__ import annotations

import pytest

from compliance.choices import SuppressionReason
from compliance.suppression import suppress
from leads.models import Interaction, Lead
from mailing import services
from mailing.models import EmailMessage
from smartweb.clusters import free_port
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client
from tests.mailing.conftest import deliver_all

pytestmark = pytest.mark.django_db


def _url(lead) -> str:
    return f"/api/v1/leads/{lead.pk}/send-email/"


def _template(org, **fields):
    values = {
        "name": "Introduction",
        "subject": "A website for {{ lead.company }}",
        "body": "Dear {{ lead.contact_name }},\n\nregards,\n{{ sender.name }}\n"
        "{{ organization.name }}",
        **fields,
    }
    with tenant_context(org):
        return services.template_create(acting_user=None, **values)


def _written(org) -> tuple[int, int]:
    with tenant_context(org):
        return EmailMessage.objects.count(), Interaction.objects.filter(type="email").count()


def test_a_rep_emails_a_lead_from_a_template_and_it_arrives(org_a, rep_a, mail_lead, smtp):
    template = _template(org_a)
    answer = api_client(rep_a, org_a).post(
        _url(mail_lead), {"template": str(template.pk)}, format="json"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["status"] == "queued" and body["to_email"] == "dana@dripdrop.test"

    assert deliver_all(org_a) == ["sent"]
    [received] = smtp.wait_for(1)
    assert received["To"] == "dana@dripdrop.test"
    assert received["Subject"] == "A website for Drip Drop"
    assert received["Message-ID"] == body["message_id"]
    assert received["Reply-To"] == rep_a.email
    assert received["From"].addresses[0].addr_spec == "crm@agency.test"
    text = received.get_content()
    assert f"Dear {mail_lead.contact_name}," in text
    assert rep_a.full_name in text and org_a.name in text
    with tenant_context(org_a):
        message = EmailMessage.objects.get()
        assert message.status == "sent" and message.sent_at is not None
        assert message.sent_by_id == rep_a.pk and message.template_id == template.pk
        logged = message.interaction
        assert (logged.lead_id, logged.type, logged.direction) == (
            mail_lead.pk,
            "email",
            "outbound",
        )
        assert logged.subject == "A website for Drip Drop"
    # Sent once: a second run of the job finds nothing queued.
    assert deliver_all(org_a) == []


def test_a_subject_and_body_of_ones_own_use_the_same_fields(org_a, rep_a, mail_lead, smtp):
    answer = api_client(rep_a, org_a).post(
        _url(mail_lead),
        {"subject": "Hello {{lead.contact_name}}", "body": "From {{ sender.email }}"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    deliver_all(org_a)
    [received] = smtp.wait_for(1)
    assert received["Subject"] == f"Hello {mail_lead.contact_name}"
    *text, footer = received.get_content().splitlines()
    assert text == [f"From {rep_a.email}", "", "-- "] and "unsubscribe: http" in footer


@pytest.mark.parametrize(
    "payload, field, words",
    [
        ({"subject": "Hi {{ lead.favourite_colour }}", "body": "x"}, "subject", "Unknown field"),
        ({"subject": "Hi", "body": "{{ lead.contact_name }"}, "body", "unclosed"),
        ({"subject": "", "body": ""}, "subject", "required"),
    ],
)
def test_an_unknown_or_malformed_field_is_refused_and_nothing_is_written(
    org_a, rep_a, mail_lead, smtp, payload, field, words
):
    answer = api_client(rep_a, org_a).post(_url(mail_lead), payload, format="json")
    assert answer.status_code == 400, answer.content
    details = answer.json()["error"]["details"]
    assert words in " ".join(details[field])
    assert _written(org_a) == (0, 0)


def _no_address(org, lead):
    with tenant_context(org):
        Lead.objects.filter(pk=lead.pk).update(contact_email="")


def _malformed(org, lead):
    # Data from before validation, or written by SQL: refused at sending.
    with tenant_context(org):
        Lead.objects.filter(pk=lead.pk).update(contact_email="dana at dripdrop")


def _do_not_contact(org, lead):
    with tenant_context(org):
        Lead.objects.filter(pk=lead.pk).update(do_not_contact=True)


def _no_consent(org, lead):
    with tenant_context(org):
        Lead.objects.filter(pk=lead.pk).update(consent_to_contact=False)


def _suppressed(org, lead):
    with tenant_context(org):
        suppress(emails=["Dana@DripDrop.test"], reason=SuppressionReason.OBJECTION)


@pytest.mark.parametrize(
    "spoil, words",
    [
        (_no_address, "no email address"),
        (_malformed, "not a valid email address"),
        (_do_not_contact, "do-not-contact"),
        (_no_consent, "not consented"),
        (_suppressed, "suppression list"),
    ],
)
def test_a_lead_that_may_not_be_written_to_is_refused_with_the_reason(
    org_a, rep_a, mail_lead, smtp, spoil, words
):
    template = _template(org_a)
    spoil(org_a, mail_lead)
    answer = api_client(rep_a, org_a).post(
        _url(mail_lead), {"template": str(template.pk)}, format="json"
    )
    assert answer.status_code == 400, answer.content
    assert words in " ".join(answer.json()["error"]["details"]["to"])
    assert _written(org_a) == (0, 0)
    assert deliver_all(org_a) == [] and smtp.received == []


def test_permissions_and_scope(org_a, org_b, admin_b, manager_a, rep_a2, readonly_a, mail_lead):
    payload = {"subject": "Hi", "body": "Hello"}
    assert api_client(readonly_a, org_a).post(_url(mail_lead), payload).status_code == 403
    # Another rep does not see rep_a's lead; another organization does not either.
    assert api_client(rep_a2, org_a).post(_url(mail_lead), payload).status_code == 404
    assert api_client(admin_b, org_b).post(_url(mail_lead), payload).status_code == 404
    assert _written(org_a) == (0, 0)
    # The manager of rep_a's team may.
    assert api_client(manager_a, org_a).post(_url(mail_lead), payload).status_code == 201


def test_another_organizations_template_cannot_be_used(org_a, org_b, rep_a, mail_lead):
    theirs = _template(org_b)
    answer = api_client(rep_a, org_a).post(
        _url(mail_lead), {"template": str(theirs.pk)}, format="json"
    )
    assert answer.status_code == 400 and "template" in answer.json()["error"]["details"]
    assert _written(org_a) == (0, 0)


def test_a_template_and_a_text_of_ones_own_together_are_refused(org_a, rep_a, mail_lead):
    """The text would have been dropped for the template's, unsaid: a 400 naming it."""
    payload = {"template": str(_template(org_a).pk), "subject": "Also", "body": "Both"}
    answer = api_client(rep_a, org_a).post(_url(mail_lead), payload, format="json")
    assert answer.status_code == 400, answer.content
    assert set(answer.json()["error"]["details"]) == {"subject", "body"}
    assert _written(org_a) == (0, 0)


def test_the_log_is_read_in_the_leads_scope(org_a, org_b, admin_b, rep_a, rep_a2, mail_lead):
    api_client(rep_a, org_a).post(_url(mail_lead), {"subject": "Hi", "body": "Hello"})
    assert len(api_client(rep_a, org_a).get("/api/v1/email-messages/").json()["results"]) == 1
    assert api_client(rep_a2, org_a).get("/api/v1/email-messages/").json()["results"] == []
    assert api_client(admin_b, org_b).get("/api/v1/email-messages/").json()["results"] == []


def _queue_one(org, rep, lead) -> EmailMessage:
    with tenant_context(org):
        return services.email_send_to_lead(
            lead=lead, acting_user=None, subject="Hi", body="Hello", template=None
        )


def test_a_permanent_refusal_fails_the_message(org_a, rep_a, mail_lead, smtp):
    smtp.refuse["dana@dripdrop.test"] = "550 5.1.1 No such user here"
    _queue_one(org_a, rep_a, mail_lead)
    assert deliver_all(org_a) == ["failed"]
    with tenant_context(org_a):
        message = EmailMessage.objects.get()
    assert message.attempts == 1 and "No such user" in message.last_error


def test_a_message_that_cannot_be_written_fails_and_the_next_is_sent(org_a, rep_a, mail_lead, smtp):
    """A subject with a line break (stored before subjects were folded) can never be
    sent: it fails with the reason, once, and does not hold up the messages after it."""
    broken = _queue_one(org_a, rep_a, mail_lead)
    fine = _queue_one(org_a, rep_a, mail_lead)
    with tenant_context(org_a):
        EmailMessage.objects.filter(pk=broken.pk).update(subject="Hi\r\nBcc: x@example.com")
    assert sorted(deliver_all(org_a)) == ["failed", "sent"]
    with tenant_context(org_a):
        broken.refresh_from_db()
        fine.refresh_from_db()
    assert (broken.status, broken.attempts, broken.next_attempt_at) == ("failed", 1, None)
    assert "BadHeaderError" in broken.last_error and "newlines" in broken.last_error
    assert fine.status == "sent"
    [received] = smtp.wait_for(1)
    assert received["Subject"] == "Hi" and received["Message-ID"] == fine.message_id
    assert deliver_all(org_a) == []  # not tried again


def test_a_sender_name_with_a_line_break_is_sent_on_one_line(org_a, rep_a, mail_lead, smtp):
    """A name stored before names were one line would otherwise fail every message its
    owner sends (the mailer refuses a From header with a line break)."""
    type(rep_a).objects.filter(pk=rep_a.pk).update(full_name="Riley\r\nBcc: x@evil.test")
    payload = {"subject": "Hi", "body": "Hello"}
    sent = api_client(rep_a, org_a).post(_url(mail_lead), payload, format="json")
    assert sent.status_code == 201, sent.content
    assert deliver_all(org_a) == ["sent"]
    [received] = smtp.wait_for(1)
    assert received["From"].addresses[0].display_name.startswith("Riley Bcc: x@evil.test")
    assert received["Bcc"] is None


def test_a_temporary_refusal_or_no_server_leaves_it_queued_for_a_retry(
    org_a, rep_a, mail_lead, smtp, settings
):
    smtp.refuse["dana@dripdrop.test"] = "451 4.3.0 Try again later"
    message = _queue_one(org_a, rep_a, mail_lead)
    assert deliver_all(org_a) == ["queued"]
    with tenant_context(org_a):
        message.refresh_from_db()
    assert message.attempts == 1 and message.next_attempt_at > message.created_at
    assert "Try again later" in message.last_error
    assert deliver_all(org_a) == []  # not due yet

    settings.EMAIL_PORT = free_port()  # nothing listens there
    with tenant_context(org_a):
        EmailMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
    assert deliver_all(org_a) == ["queued"]
    with tenant_context(org_a):
        message.refresh_from_db()
    assert message.attempts == 2 and "Connection" in message.last_error


def test_a_retry_that_finds_the_server_again_sends_it(org_a, rep_a, mail_lead, smtp, settings):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()
    message = _queue_one(org_a, rep_a, mail_lead)
    assert deliver_all(org_a) == ["queued"]
    settings.EMAIL_PORT = port
    with tenant_context(org_a):
        EmailMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
    assert deliver_all(org_a) == ["sent"]
    assert len(smtp.wait_for(1)) == 1


def test_the_retries_run_out(org_a, rep_a, mail_lead, smtp, settings):
    settings.EMAIL_SEND_ATTEMPTS = 2
    settings.EMAIL_PORT = free_port()
    message = _queue_one(org_a, rep_a, mail_lead)
    statuses = []
    for _ in range(2):
        with tenant_context(org_a):
            EmailMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
        statuses += deliver_all(org_a)
    assert statuses == ["queued", "failed"]


def test_a_deleted_lead_is_not_written_to(org_a, rep_a, mail_lead):
    with tenant_context(org_a):
        mail_lead.delete()
    answer = api_client(rep_a, org_a).post(_url(mail_lead), {"subject": "Hi", "body": "x"})
    assert answer.status_code == 404
