"""The email provider's inbound webhook: signed per organization like the AI call webhook
(401 and nothing written otherwise); a reply is filed on the lead of the message it
answers, or else by the sender's address; a repeat is a duplicate (a bounce of an address
listed already too); a bounce puts the address on the suppression list, and the next send
to it is refused."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from compliance.choices import SuppressionReason
from compliance.models import SuppressionEntry
from compliance.suppression import is_suppressed, suppress
from leads.models import Interaction
from mailing import services
from mailing.models import EmailMessage
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client
from tests.leads.factories import make_lead
from tests.mailing.conftest import deliver_all, post_inbound

pytestmark = pytest.mark.django_db


def _sent(org, lead) -> EmailMessage:
    with tenant_context(org):
        return services.email_send_to_lead(
            lead=lead, acting_user=None, subject="Your website", body="Hello"
        )


def _reply(**fields) -> dict:
    return {
        "event": "reply",
        "message_id": f"<reply-{time.time_ns()}@mail.example>",
        "from_email": "Dana Drip <Dana@DripDrop.test>",
        "to_email": "crm@agency.test",
        "subject": "Re: Your website",
        "text": "Sounds good, call me.",
        **fields,
    }


def _inbound(org) -> list[EmailMessage]:
    with tenant_context(org):
        return list(EmailMessage.objects.filter(direction="inbound"))


def test_a_reply_is_filed_on_the_lead_of_the_message_it_answers(
    org_a, rep_a, mail_lead, inbound_secret
):
    other = _reply(from_email="assistant@elsewhere.test")  # not the lead's address
    sent = _sent(org_a, mail_lead)
    answer = post_inbound(
        Client(), org_a, {**other, "in_reply_to": sent.message_id}, inbound_secret
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["outcome"] == "filed"
    assert answer.json()["lead"] == str(mail_lead.pk)
    [filed] = _inbound(org_a)
    assert filed.in_reply_to == sent.message_id and filed.body == "Sounds good, call me."
    with tenant_context(org_a):
        logged = Interaction.objects.get(pk=filed.interaction_id)
    assert (logged.type, logged.direction, logged.lead_id) == ("email", "inbound", mail_lead.pk)


def test_a_reply_found_in_references_or_by_address(org_a, mail_lead, inbound_secret):
    sent = _sent(org_a, mail_lead)
    threaded = _reply(from_email="x@elsewhere.test", references=["<a@b>", sent.message_id])
    assert post_inbound(Client(), org_a, threaded, inbound_secret).json()["outcome"] == "filed"
    by_address = post_inbound(Client(), org_a, _reply(), inbound_secret).json()
    assert by_address["outcome"] == "filed" and by_address["lead"] == str(mail_lead.pk)
    assert len(_inbound(org_a)) == 2


def test_mail_from_no_known_lead_is_not_kept(org_a, mail_lead, inbound_secret):
    answer = post_inbound(Client(), org_a, _reply(from_email="who@nowhere.test"), inbound_secret)
    assert answer.status_code == 200 and answer.json()["outcome"] == "unmatched"
    assert _inbound(org_a) == []


def test_a_repeated_delivery_is_filed_once(org_a, mail_lead, inbound_secret):
    reply = _reply()
    assert post_inbound(Client(), org_a, reply, inbound_secret).json()["outcome"] == "filed"
    again = post_inbound(Client(), org_a, reply, inbound_secret).json()
    assert again["outcome"] == "duplicate"
    assert len(_inbound(org_a)) == 1


def test_a_bounce_suppresses_the_address_and_the_next_send_is_refused(
    org_a, rep_a, mail_lead, inbound_secret, smtp
):
    sent = _sent(org_a, mail_lead)
    deliver_all(org_a)
    bounce = {
        "event": "bounce",
        "message_id": "<bounce-1@mail.example>",
        "in_reply_to": sent.message_id,
        "bounced_address": "dana@dripdrop.test",
        "text": "550 5.1.1 mailbox unavailable",
    }
    answer = post_inbound(Client(), org_a, bounce, inbound_secret)
    assert answer.status_code == 200 and answer.json()["outcome"] == "suppressed"
    with tenant_context(org_a):
        assert SuppressionEntry.objects.filter(reason="bounce").count() == 1
        sent.refresh_from_db()
        assert sent.status == "bounced" and "mailbox unavailable" in sent.last_error
        assert Interaction.objects.filter(lead=mail_lead, subject__startswith="Email bounced")
    # Reported twice: a duplicate, still one entry, one note.
    again = post_inbound(Client(), org_a, bounce, inbound_secret)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    with tenant_context(org_a):
        assert SuppressionEntry.objects.count() == 1
        assert Interaction.objects.filter(subject__startswith="Email bounced").count() == 1
    refused = api_client(rep_a, org_a).post(
        f"/api/v1/leads/{mail_lead.pk}/send-email/", {"subject": "Hi", "body": "again"}
    )
    assert refused.status_code == 400 and "suppression" in str(refused.json())


def test_a_bounced_address_stops_mail_not_the_person_and_an_erasure_takes_it_over(
    org_a, inbound_secret
):
    bounce = {"event": "bounce", "message_id": "<b@x>", "bounced_address": "Gone@Nowhere.test"}
    post_inbound(Client(), org_a, bounce, inbound_secret)
    with tenant_context(org_a):
        assert is_suppressed(email="gone@nowhere.test", for_mail=True)
        assert not is_suppressed(email="gone@nowhere.test")
    # The person may still become a lead (mail to them stays refused).
    make_lead(org_a, contact_name="Gone", contact_email="gone@nowhere.test")
    with tenant_context(org_a):
        suppress(emails=["gone@nowhere.test"], reason=SuppressionReason.ERASURE)
        [entry] = SuppressionEntry.objects.all()
        assert entry.reason == SuppressionReason.ERASURE
        assert is_suppressed(email="gone@nowhere.test")


def test_a_bounce_by_address_alone_and_its_repeat(org_a, inbound_secret):
    bounce = {"event": "bounce", "message_id": "<b@x>", "bounced_address": "gone@nowhere.test"}
    assert post_inbound(Client(), org_a, bounce, inbound_secret).json()["outcome"] == "suppressed"
    # The provider reports it again (a retry, or another bounce): nothing new to record.
    for repeat in (bounce, {**bounce, "message_id": "<b2@x>"}):
        again = post_inbound(Client(), org_a, repeat, inbound_secret)
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    with tenant_context(org_a):
        assert SuppressionEntry.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"signature": "sha256=" + "0" * 64},
        {"timestamp": str(int(time.time()) - 3600)},
        {"timestamp": "not a time"},
    ],
)
def test_a_bad_or_stale_signature_is_401_and_nothing_is_written(
    org_a, mail_lead, inbound_secret, headers
):
    answer = post_inbound(Client(), org_a, _reply(), inbound_secret, **headers)
    assert answer.status_code == 401
    assert _inbound(org_a) == []


def test_no_secret_or_another_organizations_secret_is_401(org_a, org_b, mail_lead):
    assert post_inbound(Client(), org_a, _reply(), "whsec_guess").status_code == 401
    with tenant_context(org_b):
        theirs = services.inbound_secret_rotate(acting_user=None)
    assert post_inbound(Client(), org_a, _reply(), theirs).status_code == 401
    # And the AI call provider's secret does not sign email.
    from crm import services as crm_services

    with tenant_context(org_a):
        ai_secret = crm_services.webhook_secret_rotate(acting_user=None)
    assert post_inbound(Client(), org_a, _reply(), ai_secret).status_code == 401
    assert _inbound(org_a) == []


def test_another_organizations_thread_is_not_followed(org_a, org_b, mail_lead, inbound_secret):
    sent = _sent(org_a, mail_lead)
    with tenant_context(org_b):
        theirs = services.inbound_secret_rotate(acting_user=None)
    reply = _reply(from_email="x@elsewhere.test", in_reply_to=sent.message_id)
    answer = post_inbound(Client(), org_b, reply, theirs)
    assert answer.json()["outcome"] == "unmatched"
    assert _inbound(org_a) == [] and _inbound(org_b) == []


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"event": "reply", "message_id": "<m@x>", "from_email": "not an address"}, "from_email"),
        ({"event": "reply", "message_id": "<m@x>"}, "from_email"),
        ({"event": "forward", "message_id": "<m@x>"}, "event"),
        ({"event": "bounce", "message_id": "<m@x>"}, "bounced_address"),
        ({"event": "bounce", "message_id": "<m@x>", "bounced_address": "@@"}, "bounced_address"),
    ],
)
def test_bad_input_is_a_clear_400_and_nothing_is_written(
    org_a, mail_lead, inbound_secret, payload, field
):
    answer = post_inbound(Client(), org_a, payload, inbound_secret)
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["error"]["details"]
    assert _inbound(org_a) == []
    with tenant_context(org_a):
        assert SuppressionEntry.objects.count() == 0


def test_only_the_admins_rotate_the_inbound_secret(org_a, admin_a, manager_a, rep_a):
    url = "/api/v1/email-inbound-secret/"
    for user in (manager_a, rep_a):
        assert api_client(user, org_a).post(url).status_code == 403
    answer = api_client(admin_a, org_a).post(url)
    assert answer.status_code == 200 and answer.json()["secret"].startswith("whsec_")


def test_an_erasure_clears_what_the_messages_said_and_to_whom(org_a, mail_lead, inbound_secret):
    from compliance import services as compliance_services

    sent = _sent(org_a, mail_lead)
    post_inbound(Client(), org_a, _reply(in_reply_to=sent.message_id), inbound_secret)
    with tenant_context(org_a):
        compliance_services.erase_subject(lead=mail_lead, acting_user=None)
        rows = list(EmailMessage.objects.values("subject", "body", "to_email", "from_email"))
    assert len(rows) == 2
    for row in rows:
        assert row["body"] == "" and row["to_email"] == "" and row["from_email"] == ""
        assert row["subject"] == "[erased]"
