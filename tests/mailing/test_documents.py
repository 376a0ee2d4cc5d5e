"""A proposal's "send" emails it to the contact with its PDF (line items, totals in its
currency, validity), kept as an attachment of the proposal; a contract likewise. A lead
that may not be written to refuses the send, and nothing is written: the proposal stays a
draft, with no attachment and no message."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from reportlab import rl_config

from accounts.models import Organization
from attachments.models import Attachment
from crm.models import Proposal
from leads.models import Lead
from mailing import pdf
from mailing.models import EmailMessage
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.crm.conftest import LONDON
from tests.factories import api_client, make_organization, org_admin
from tests.mailing.conftest import deliver_all

pytestmark = pytest.mark.django_db

VALID_UNTIL = dt.date(2031, 3, 31)


@pytest.fixture(autouse=True)
def readable_pdfs(monkeypatch):
    """Uncompressed page streams, so that a test can find the text in the bytes."""
    monkeypatch.setattr(rl_config, "pageCompression", 0)


@pytest.fixture
def proposal(org_a, rep_a):
    lead = factories.qualified_lead(org_a, assigned_to=rep_a, contact_email="dana@dripdrop.test")
    opportunity = factories.opportunity(org_a, owner=rep_a, lead=lead)
    return factories.proposal(
        org_a,
        opportunity,
        lines=[
            factories.line("Website build", unit_price="1200.00", tax="20"),
            factories.line("Hosting, one year", quantity="12", unit_price="15.00", discount="10"),
        ],
        valid_until=VALID_UNTIL,
        title="New website",
    )


def test_a_title_with_line_breaks_is_sent_with_a_one_line_subject(org_a, rep_a, smtp):
    lead = factories.qualified_lead(org_a, assigned_to=rep_a, contact_email="dana@dripdrop.test")
    opportunity = factories.opportunity(org_a, owner=rep_a, lead=lead)
    client = api_client(rep_a, org_a)
    created = client.post(
        "/api/v1/proposals/",
        {
            "opportunity": str(opportunity.pk),
            "title": "Website\r\nBcc: x@example.com",
            "line_items": [{"description": "Website", "quantity": "1", "unit_price": "900"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    proposal = created.json()
    assert client.post(f"/api/v1/proposals/{proposal['id']}/send/").status_code == 200

    assert deliver_all(org_a) == ["sent"]
    [received] = smtp.wait_for(1)
    assert received["Subject"] == f"Proposal {proposal['number']}: Website Bcc: x@example.com"
    assert received["Bcc"] is None
    assert smtp.envelopes[0][1] == ["dana@dripdrop.test"]


def _attachments(org, **record) -> list[Attachment]:
    with tenant_context(org):
        return list(Attachment.objects.filter(**record))


def test_sending_a_proposal_emails_its_pdf_to_the_contact(org_a, rep_a, proposal, smtp):
    answer = api_client(rep_a, org_a).post(f"/api/v1/proposals/{proposal.pk}/send/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "sent"
    [stored] = _attachments(org_a, proposal=proposal)
    assert stored.content_type == "application/pdf" and stored.original_name.endswith(".pdf")

    assert deliver_all(org_a) == ["sent"]
    [received] = smtp.wait_for(1)
    assert received["To"] == "dana@dripdrop.test"
    assert received["Subject"] == f"Proposal {proposal.number}: New website"
    assert "31 March 2031" in received.get_body(("plain",)).get_content()
    [attached] = list(received.iter_attachments())
    document = attached.get_content()
    assert attached.get_filename() == f"{proposal.number}.pdf"
    assert document.startswith(b"%PDF-")
    for text in (
        b"Website build",
        b"Hosting, one year",
        b"Total \\(%s\\)" % proposal.currency.encode(),
        b"31 March 2031",
    ):
        assert text in document, text
    with tenant_context(org_a):
        message = EmailMessage.objects.get()
        assert message.kind == "proposal" and message.attachment_id == stored.pk
        assert message.interaction.lead_id == proposal.opportunity.lead_id


def test_a_proposal_sent_through_the_api_is_dated_the_organizations_day(monkeypatch, smtp):
    """At 23:30 UTC on 1 July it is already 2 July in London: the PDF says 2 July, as it
    does when the proposal is sent from the back office."""
    london = make_organization("Thames Roofing", time_zone=LONDON)
    admin = org_admin(london)
    lead = factories.qualified_lead(london, assigned_to=admin, contact_email="dana@dripdrop.test")
    deal = factories.opportunity(london, owner=admin, lead=lead)
    proposal = factories.proposal(london, deal, valid_until=VALID_UNTIL)
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2027, 7, 1, 23, 30, tzinfo=dt.UTC))
    answer = api_client(admin, london).post(f"/api/v1/proposals/{proposal.pk}/send/")
    assert answer.status_code == 200, answer.content

    assert deliver_all(london) == ["sent"]
    [received] = smtp.wait_for(1)
    [attached] = list(received.iter_attachments())
    document = attached.get_content()
    assert b"Date: 02 July 2027." in document
    assert b"01 July 2027" not in document


def test_a_contract_is_sent_likewise(org_a, rep_a, proposal, smtp):
    client = api_client(rep_a, org_a)
    assert client.post(f"/api/v1/proposals/{proposal.pk}/send/").status_code == 200
    accepted = client.post(f"/api/v1/proposals/{proposal.pk}/accept/")
    assert accepted.status_code == 200, accepted.content
    contract_id = accepted.json()["contract"]["id"]
    answer = client.post(f"/api/v1/contracts/{contract_id}/send/")
    assert answer.status_code == 200, answer.content
    assert len(_attachments(org_a, contract_id=contract_id)) == 1

    assert deliver_all(org_a) == ["sent", "sent"]
    received = smtp.wait_for(2)
    contract_mail = next(m for m in received if m["Subject"].startswith("Contract"))
    [attached] = list(contract_mail.iter_attachments())
    document = attached.get_content()
    assert b"Website build" in document and b"Signed:" in document


def test_a_proposal_to_a_do_not_contact_lead_is_refused_and_nothing_is_written(
    org_a, rep_a, proposal, smtp
):
    with tenant_context(org_a):
        Lead.objects.filter(pk=proposal.opportunity.lead_id).update(do_not_contact=True)
    answer = api_client(rep_a, org_a).post(f"/api/v1/proposals/{proposal.pk}/send/")
    assert answer.status_code == 400, answer.content
    assert "do-not-contact" in str(answer.json()["error"]["details"])
    with tenant_context(org_a):
        assert Proposal.objects.get(pk=proposal.pk).status == "draft"
        assert EmailMessage.objects.count() == 0
    assert _attachments(org_a, proposal=proposal) == []


def test_a_proposal_for_a_lead_without_an_address_is_sent_without_email(org_a, rep_a, smtp):
    opportunity = factories.opportunity(org_a, owner=rep_a)
    proposal = factories.proposal(org_a, opportunity)
    answer = api_client(rep_a, org_a).post(f"/api/v1/proposals/{proposal.pk}/send/")
    assert answer.status_code == 200 and answer.json()["status"] == "sent"
    with tenant_context(org_a):
        assert EmailMessage.objects.count() == 0


def test_the_pdf_of_a_fifty_line_proposal(org_a, rep_a):
    opportunity = factories.opportunity(org_a, owner=rep_a)
    lines = [factories.line(f"Item number {n}", unit_price="10.00", tax="20") for n in range(50)]
    made = factories.proposal(org_a, opportunity, lines=lines, valid_until=VALID_UNTIL)
    with tenant_context(org_a):
        document = pdf.proposal_pdf(
            Proposal.objects.get(pk=made.pk), organization=Organization.objects.get(pk=org_a.pk)
        )
    assert b"Item number 0" in document and b"Item number 49" in document
    # 50 x 10.00, and with 20% VAT; the lines run onto a second page.
    currency = made.currency.encode()
    assert currency + b" 500.00" in document and currency + b" 600.00" in document
    assert b"/Count 2" in document
