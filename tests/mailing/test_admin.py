"""Email in the admin: "Send an email" on a lead with an address (the service's refusal
shown on the form, nothing written), the templates' form refusing an unknown field, and
a template saved unchanged left as it was."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.crypto import decrypt
from leads.models import Lead
from mailing import services
from mailing.models import EmailMessage, EmailTemplate, InboundSecret
from smartweb.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _step_url(lead) -> str:
    return reverse("admin:leads_lead_step", args=[lead.pk, "send-email"])


def _offered(client, lead) -> set[str]:
    page = client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    return set(re.findall(r'data-step="([\w-]+)"', page))


def _messages(org) -> int:
    with tenant_context(org):
        return EmailMessage.objects.count()


def test_a_rep_sends_an_email_from_the_lead_page(client, org_a, rep_a, mail_lead):
    with tenant_context(org_a):
        template = services.template_create(
            acting_user=None, name="Intro", subject="Hello {{ lead.contact_name }}", body="Hi"
        )
    client.force_login(rep_a)
    assert "send-email" in _offered(client, mail_lead)
    form = client.get(_step_url(mail_lead)).content.decode()
    assert "Intro" in form and "{{ lead.contact_name }}" in form
    answer = client.post(_step_url(mail_lead), {"template": template.pk})
    assert answer.status_code == 302
    with tenant_context(org_a):
        message = EmailMessage.objects.get()
    assert message.subject == f"Hello {mail_lead.contact_name}" and message.status == "queued"


def test_a_refusal_is_shown_on_the_form_and_nothing_is_written(client, org_a, rep_a, mail_lead):
    with tenant_context(org_a):
        Lead.objects.filter(pk=mail_lead.pk).update(consent_to_contact=False)
    client.force_login(rep_a)
    answer = client.post(_step_url(mail_lead), {"subject": "Hi", "body": "Hello there"})
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "not consented" in body and "Hello there" in body
    assert _messages(org_a) == 0


def test_no_send_step_without_an_address_or_the_permission(
    client, org_a, readonly_a, rep_a, mail_lead
):
    client.force_login(readonly_a)
    assert "send-email" not in _offered(client, mail_lead)
    assert client.post(_step_url(mail_lead), {"subject": "a", "body": "b"}).status_code == 403
    with tenant_context(org_a):
        Lead.objects.filter(pk=mail_lead.pk).update(contact_email="")
    client.force_login(rep_a)
    assert "send-email" not in _offered(client, mail_lead)
    assert _messages(org_a) == 0


def test_another_organizations_lead_is_404(client, org_b, admin_b, mail_lead):
    client.force_login(admin_b)
    assert client.get(_step_url(mail_lead)).status_code == 404


def test_the_template_form_refuses_an_unknown_field(client, org_a, admin_a):
    client.force_login(admin_a)
    add = reverse("admin:mailing_emailtemplate_add")
    answer = client.post(add, {"name": "Bad", "subject": "{{ lead.age }}", "body": "x"})
    assert answer.status_code == 200
    assert "Unknown field {{ lead.age }}" in answer.content.decode()
    with tenant_context(org_a):
        assert EmailTemplate.all_objects.count() == 0
    saved = client.post(add, {"name": "Good", "subject": "{{ lead.company }}", "body": "x"})
    assert saved.status_code == 302


def test_a_template_saved_unchanged_is_left_as_it_was(client, org_a, admin_a):
    body = "Hello,\n\nsee you soon."
    with tenant_context(org_a):
        template = services.template_create(acting_user=None, name="T", subject="S", body=body)
        before = (template.updated_at, template.history.count())
    client.force_login(admin_a)
    change = reverse("admin:mailing_emailtemplate_change", args=[template.pk])
    page = client.get(change).content.decode()
    version = re.search(r'name="_version" value="([^"]*)"', page)
    # As a browser sends a textarea: every line break as CRLF.
    data = {"name": "T", "subject": "S", "body": body.replace("\n", "\r\n")}
    if version:
        data["_version"] = version.group(1)
    assert client.post(change, data).status_code == 302
    with tenant_context(org_a):
        template.refresh_from_db()
        assert (template.updated_at, template.history.count()) == before
        assert template.body == body


def test_members_who_are_not_admins_cannot_add_templates(client, rep_a, manager_a):
    for user in (rep_a, manager_a):
        client.force_login(user)
        assert client.get(reverse("admin:mailing_emailtemplate_add")).status_code == 403


# --- the inbound webhook's secret --------------------------------------------------------


def test_an_admin_creates_the_inbound_secret_and_sees_it_once(client, org_a, admin_a, org_b):
    client.force_login(admin_a)
    log = client.get(reverse("admin:mailing_emailmessage_changelist")).content.decode()
    url = reverse("admin:mailing_emailmessage_inbound_secret")
    assert f'href="{url}"' in log
    assert b"No secret yet" in client.get(url).content
    shown = client.post(url)
    secret = re.search(r"whsec_[\w-]+", shown.content.decode()).group(0)
    assert "/api/v1/webhooks/inbound-email/" in shown.content.decode()
    assert b"whsec_" not in client.get(url).content  # shown this once
    with tenant_context(org_a):
        (row,) = InboundSecret.objects.all()
        assert decrypt(row.secret_encrypted) == secret
    with tenant_context(org_b):
        assert not InboundSecret.objects.exists()  # the other organization has none


def test_the_inbound_secret_page_is_for_admins(client, org_a, rep_a, manager_a):
    url = reverse("admin:mailing_emailmessage_inbound_secret")
    for user in (rep_a, manager_a):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403
        log = client.get(reverse("admin:mailing_emailmessage_changelist"))
        assert url not in log.content.decode()
    with tenant_context(org_a):
        assert not InboundSecret.objects.exists()
