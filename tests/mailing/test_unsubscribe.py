"""The unsubscribe link of email to leads: every email (written to a lead, a proposal, a
contract) carries it in `List-Unsubscribe` with the one-click POST, and at the foot of its
text; opening it changes nothing, posting it (the mailbox provider's one-click POST or
the page's button) puts the address on the suppression list, withdraws the lead's
consent with its evidence and writes an audit row, once however often it is posted; the
next send is refused with the reason. A token altered, expired or of another
organization's reaches nothing."""

from __future__ import annotations

import re
import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts.models import AuditLog
from compliance.choices import SuppressionReason
from compliance.models import ConsentRecord, SuppressionEntry
from compliance.suppression import is_suppressed, suppress
from leads.models import Interaction, Lead
from mailing import unsubscribe
from mailing.models import EmailMessage
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import api_client
from tests.mailing.conftest import deliver_all

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


def _send_to_lead(client, lead):
    answer = client.post(f"/api/v1/leads/{lead.pk}/send-email/", {"subject": "Hi", "body": "Hello"})
    assert answer.status_code == 201, answer.content


def _proposal(org, rep, lead) -> str:
    opportunity = factories.opportunity(org, owner=rep, lead=lead)
    proposal = factories.proposal(org, opportunity, lines=[factories.line("Website build")])
    return str(proposal.pk)


def _send_proposal(client, proposal_id):
    assert client.post(f"/api/v1/proposals/{proposal_id}/send/").status_code == 200


def _send_contract(client, proposal_id):
    _send_proposal(client, proposal_id)
    accepted = client.post(f"/api/v1/proposals/{proposal_id}/accept/").json()
    sent = client.post(f"/api/v1/contracts/{accepted['contract']['id']}/send/")
    assert sent.status_code == 200, sent.content


def _link_of(received) -> str:
    """The path of the message's unsubscribe link, checked to be the same everywhere."""
    # Too long to fold, the value starts on a line of its own: whitespace before it.
    header = received["List-Unsubscribe"].strip()
    [url] = re.fullmatch(r"<(http://testserver/u/[^>]+)>", header).groups()
    assert received["List-Unsubscribe-Post"] == ONE_CLICK
    assert f"unsubscribe: {url}" in received.get_body(("plain",)).get_content()
    return url.removeprefix("http://testserver")


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def link(org_a, rep_a, mail_lead, smtp) -> str:
    """The unsubscribe link of an email sent to mail_lead."""
    _send_to_lead(api_client(rep_a, org_a), mail_lead)
    deliver_all(org_a)
    [received] = smtp.wait_for(1)
    return _link_of(received)


@pytest.mark.parametrize(
    "kind", ["lead", "proposal", "contract"], ids=["to a lead", "proposal", "contract"]
)
def test_every_email_carries_the_link_in_its_headers_and_text(org_a, rep_a, smtp, kind):
    lead = factories.qualified_lead(org_a, assigned_to=rep_a, contact_email="dana@dripdrop.test")
    client = api_client(rep_a, org_a)
    if kind == "lead":
        _send_to_lead(client, lead)
    else:
        proposal_id = _proposal(org_a, rep_a, lead)
        (_send_proposal if kind == "proposal" else _send_contract)(client, proposal_id)
    sent = deliver_all(org_a)
    received = smtp.wait_for(len(sent))
    assert sent and len(received) == len(sent)
    with tenant_context(org_a):
        kinds = set(EmailMessage.objects.values_list("kind", flat=True))
        logged = list(EmailMessage.objects.values_list("body", flat=True))
    assert kind in kinds
    for message in received:
        path = _link_of(message)
        assert unsubscribe.read(path.removeprefix("/u/")).lead_id == lead.pk
    # The log keeps what was written; the link is added as the message goes out.
    assert not any("/u/" in body for body in logged)


def test_the_send_step_of_the_lead_page_carries_it_too(client, org_a, rep_a, mail_lead, smtp):
    client.force_login(rep_a)
    step = reverse("admin:leads_lead_step", args=[mail_lead.pk, "send-email"])
    assert client.post(step, {"subject": "Hi", "body": "Hello"}).status_code == 302
    deliver_all(org_a)
    [received] = smtp.wait_for(1)
    assert _link_of(received).startswith("/u/")


def _state(org, lead) -> dict:
    with tenant_context(org):
        return {
            "suppressed": list(SuppressionEntry.objects.values_list("reason", flat=True)),
            "consent": Lead.objects.get(pk=lead.pk).consent_to_contact,
            "records": list(ConsentRecord.objects.filter(lead=lead).values("granted", "source")),
            "audit": AuditLog.objects.filter(action="mailing.unsubscribed").count(),
            "notes": Interaction.objects.filter(lead=lead, subject=NOTE).count(),
        }


NOTE = "Unsubscribed from email"
UNTOUCHED = {"suppressed": [], "consent": True, "records": [], "audit": 0, "notes": 0}
UNSUBSCRIBED = {
    "suppressed": [SuppressionReason.UNSUBSCRIBED],
    "consent": False,
    "records": [{"granted": False, "source": "email"}],
    "audit": 1,
    "notes": 1,  # on the lead's timeline
}


def test_opening_the_link_shows_a_button_and_changes_nothing(org_a, mail_lead, link):
    page = Client().get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert org_a.name in html and '<form method="post" action="?via=page">' in html
    assert _state(org_a, mail_lead) == UNTOUCHED


@pytest.mark.parametrize(
    "query, body, method",
    [("", ONE_CLICK, "one-click"), ("?via=page", "List-Unsubscribe=One-Click", "page")],
    ids=["the provider's one-click POST", "the page's button"],
)
def test_posting_it_unsubscribes_and_the_next_send_is_refused(
    client, org_a, rep_a, mail_lead, link, query, body, method
):
    answer = Client().post(link + query, data=body, content_type=FORM)
    assert answer.status_code == 200
    assert "You are unsubscribed" in answer.content.decode()
    assert _state(org_a, mail_lead) == UNSUBSCRIBED
    with tenant_context(org_a):
        record = ConsentRecord.objects.get(lead=mail_lead)
        audit = AuditLog.objects.get(action="mailing.unsubscribed")
    assert record.evidence["method"] == method and record.evidence["ip"] == "127.0.0.1"
    assert audit.target_id == str(mail_lead.pk) and audit.ip_address == "127.0.0.1"

    refused = api_client(rep_a, org_a).post(
        f"/api/v1/leads/{mail_lead.pk}/send-email/", {"subject": "Hi", "body": "again"}
    )
    assert refused.status_code == 400
    assert "its owner unsubscribed" in " ".join(refused.json()["error"]["details"]["to"])
    client.force_login(rep_a)
    step = reverse("admin:leads_lead_step", args=[mail_lead.pk, "send-email"])
    shown = client.post(step, {"subject": "Hi", "body": "again"})
    assert shown.status_code == 200 and "its owner unsubscribed" in shown.content.decode()
    with tenant_context(org_a):
        assert EmailMessage.objects.count() == 1  # the first one only


def test_unsubscribing_again_changes_nothing_and_says_the_same(org_a, mail_lead, link):
    for _ in range(3):
        answer = Client().post(link, data=ONE_CLICK, content_type=FORM)
        assert answer.status_code == 200 and "You are unsubscribed" in answer.content.decode()
    assert _state(org_a, mail_lead) == UNSUBSCRIBED
    assert "You are unsubscribed" in Client().get(link).content.decode()


def _altered(path: str) -> str:
    token = path.removeprefix("/u/")
    i = len(token) // 2
    return "/u/" + token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


@pytest.mark.parametrize(
    "spoil",
    [
        _altered,
        lambda path: "/u/not-a-token",
        lambda path: path + "x" * 500,
        # Signed right, but for another purpose (an invitation's salt).
        lambda path: "/u/" + signing.dumps(["a", "b", "c"], salt="accounts.invitation"),
    ],
    ids=["altered", "garbage", "too long", "another salt"],
)
def test_a_bad_token_is_a_clear_404_and_nothing_is_written(org_a, mail_lead, link, spoil):
    for method in ("get", "post"):
        answer = getattr(Client(), method)(spoil(link))
        assert answer.status_code == 404
        assert "not valid, or has expired" in answer.content.decode()
    assert _state(org_a, mail_lead) == UNTOUCHED


def test_an_expired_token_is_refused(org_a, mail_lead, link, settings, monkeypatch):
    later = time.time() + (settings.UNSUBSCRIBE_LINK_DAYS + 1) * 86400
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert Client().post(link, data=ONE_CLICK, content_type=FORM).status_code == 404
    assert _state(org_a, mail_lead) == UNTOUCHED


def test_a_token_of_one_organization_cannot_reach_another(org_a, org_b, mail_lead, link):
    theirs = factories.lead(org_b, contact_email="dana@dripdrop.test")
    Client().post(link, data=ONE_CLICK, content_type=FORM)
    assert _state(org_a, mail_lead) == UNSUBSCRIBED
    # The same address in organization B: still on no list, its consent as it was.
    assert _state(org_b, theirs) == UNTOUCHED
    with tenant_context(org_b):
        assert not is_suppressed(email="dana@dripdrop.test", for_mail=True)
    # A token naming B, not signed by the server, reaches nothing.
    _, _, digest = signing.loads(link.removeprefix("/u/"), salt=unsubscribe.SALT)
    forged = signing.dumps(
        [org_b.pk.hex, theirs.pk.hex, digest], salt=unsubscribe.SALT, key="not-the-key"
    )
    assert Client().post(f"/u/{forged}", data=ONE_CLICK, content_type=FORM).status_code == 404
    assert _state(org_b, theirs) == UNTOUCHED


def test_a_lead_with_another_address_now_keeps_its_consent(org_a, mail_lead, link):
    with tenant_context(org_a):
        Lead.objects.filter(pk=mail_lead.pk).update(contact_email="new@dripdrop.test")
    Client().post(link, data=ONE_CLICK, content_type=FORM)
    state = _state(org_a, mail_lead)
    assert state["suppressed"] == [SuppressionReason.UNSUBSCRIBED] and state["consent"] is True
    assert state["records"] == [] and state["audit"] == 1 and state["notes"] == 0


def test_an_erasure_takes_over_the_entry(org_a, mail_lead, link):
    """An unsubscribe stops mail only; the person's later erasure must also keep them
    from being re-created, as it does for a bounced address."""
    Client().post(link, data=ONE_CLICK, content_type=FORM)
    with tenant_context(org_a):
        assert not is_suppressed(email="dana@dripdrop.test")
        suppress(emails=["dana@dripdrop.test"], reason=SuppressionReason.ERASURE)
        assert list(SuppressionEntry.objects.values_list("reason", flat=True)) == ["erasure"]
        assert is_suppressed(email="dana@dripdrop.test")


def test_hits_are_limited_per_client_address(org_a, mail_lead, link, settings):
    settings.UNSUBSCRIBE_ADDRESS_LIMIT = 2
    client = Client()
    assert [client.get(link).status_code for _ in range(2)] == [200, 200]
    refused = client.post(link, data=ONE_CLICK, content_type=FORM)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert _state(org_a, mail_lead) == UNTOUCHED


def test_other_methods_are_refused(link):
    assert Client().put(link).status_code == 405


def test_without_the_sites_address_no_email_to_a_lead_is_queued_or_sent(
    org_a, rep_a, mail_lead, smtp, settings
):
    client = api_client(rep_a, org_a)
    _send_to_lead(client, mail_lead)  # queued while SITE_URL was set
    settings.SITE_URL = ""
    refused = client.post(
        f"/api/v1/leads/{mail_lead.pk}/send-email/", {"subject": "Hi", "body": "Hello"}
    )
    assert refused.status_code == 400 and "SITE_URL" in str(refused.json())
    assert deliver_all(org_a) == ["failed"]
    with tenant_context(org_a):
        [message] = EmailMessage.objects.all()
    assert "SITE_URL" in message.last_error and smtp.received == []
