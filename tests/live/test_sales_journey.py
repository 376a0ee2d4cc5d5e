"""The whole job in the browser, as the demo rep, manager and admin, without the API: a
company and its lead, a CSV import, a call logged, the lead qualified and converted, the
deal moved through the stages, a proposal with line items sent and accepted, the
contract's signature recorded. Then an AI call campaign against the local provider (the
job worker places the call, the provider's signed webhook reports it), and a person's
data exported and erased."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from attachments.models import Attachment
from crm.choices import ContractStatus, OpportunityStatus, ProposalStatus
from crm.models import AICall, Campaign, Contract, Opportunity, Proposal
from leads.choices import LeadStatus
from leads.models import Interaction, Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

_numbers = itertools.count(1)


def _in_demo(query):
    """Run `query()` in the demo organization's context."""
    with tenant_context(pages.demo_organization()):
        return query()


def _added(browser) -> None:
    assert browser.errors() == []
    assert any("successfully" in m for m in browser.messages()), browser.messages()


def _select_option(browser, name: str, text: str) -> None:
    """Pick the option of a dropdown whose label contains `text`."""
    matches = [value for value, label in browser.options(name).items() if text in label]
    assert matches, f"no option of {name} contains {text!r}: {browser.options(name)}"
    browser.choose(name, value=matches[0])


@pytest.mark.parametrize("role", pages.ROLES)
def test_from_a_new_company_to_a_signed_contract(browser, read, role, tmp_path):
    number = next(_numbers)
    name = f"Journey Plumbing {role} {number}"
    user = User.objects.get(email=pages.email_of(role))
    browser.login(user.email)

    # A company, then its lead (assigned to whoever records it, unless they choose).
    browser.open(reverse("admin:leads_company_add"))
    browser.fill("name", name)
    browser.choose("business_type", value="plumber")
    browser.fill("phone", f"01632 97{number:04d}")
    browser.save("_save")
    _added(browser)
    browser.open(reverse("admin:leads_company_changelist") + f"?q={name}")
    assert name in browser.texts("#result_list tbody tr th a"), "the company left the list"

    browser.open(reverse("admin:leads_lead_add"))
    browser.autocomplete("company", name)
    browser.fill("contact_name", f"Pat {role}")
    browser.fill("contact_email", f"pat.{role}.{number}@journey.example")
    browser.find("input[name='consent_to_contact']").click()
    assert browser.selected("assigned_to") == [str(user.pk)]
    browser.save("_save")
    _added(browser)
    lead = _in_demo(lambda: Lead.objects.get(company__name=name))
    assert lead.assigned_to_id == user.pk

    # A small CSV import.
    csv = tmp_path / "leads.csv"
    csv.write_text(
        "company_name,business_type,phone,contact_name\n"
        f"Import Roofing {role} {number},roofer,01632 98{number:04d},Sam Slate\n"
        f"Import Sparks {role} {number},electrician,01632 99{number:04d},Vic Volt\n"
    )
    browser.open(reverse("admin:leads_lead_import"))
    browser.find("input[name='file']").send_keys(str(csv))
    browser.click("input[type=submit]")
    browser.click("#import-map input[type=submit]")  # the columns are recognised
    assert "Imported 2 lead(s)." in browser.messages()
    browser.open(reverse("admin:leads_lead_changelist") + f"?q=Import+Roofing+{role}+{number}")
    assert len(browser.find_all("input.action-select")) == 1, "the imported lead is not listed"

    # A call logged on the lead.
    browser.open(reverse("admin:leads_interaction_add"))
    browser.autocomplete("lead", name)
    browser.choose("type", value="call")
    browser.fill("subject", "First call")
    browser.fill("content", "Wants a website with online booking.")
    browser.save("_save")
    _added(browser)
    assert _in_demo(lambda: Interaction.objects.filter(lead=lead, type="call").count()) == 1

    # Qualified through the status action, with the reason the threshold asks for.
    browser.open(reverse("admin:leads_lead_changelist") + f"?q={name}")
    browser.run_action("change_status_selected", [str(lead.pk)])
    browser.choose("status", value=LeadStatus.QUALIFIED)
    browser.fill("reason", "Budget agreed on the first call.")
    browser.click("input[type=submit]")
    assert "Changed 1 lead(s)." in browser.messages()

    # Converted to an opportunity, moved through the stages.
    browser.open(reverse("admin:crm_opportunity_convert"))
    _select_option(browser, "lead", name)
    browser.fill("value", "2400")
    browser.click("input[type=submit]")
    assert any("created" in m for m in browser.messages()), browser.messages()
    opportunity = _in_demo(lambda: Opportunity.objects.get(lead=lead))
    assert opportunity.owner_id == user.pk
    page = browser.find("#content").text
    assert name in page and "Sales pipeline" in page and "New" in page, "lead, pipeline, stage"
    for stage in ("Discovery", "Proposal"):
        browser.open(reverse("admin:crm_opportunity_changelist") + f"?q={name}")
        browser.run_action("move_to_next_stage", [str(opportunity.pk)])
        assert "Moved: 1." in browser.messages()
        assert _in_demo(lambda: Opportunity.objects.get(pk=opportunity.pk).stage.name) == stage

    # A proposal with two lines, sent and accepted.
    browser.open(reverse("admin:crm_proposal_add"))
    _select_option(browser, "opportunity", name)
    browser.fill("title", "Website and booking")
    for row, (description, quantity, price) in enumerate(
        [("Website", "1", "2000.00"), ("Booking module", "2", "200.00")]
    ):
        browser.click("#line_items-group .add-row a", navigates=False)
        browser.fill(f"line_items-{row}-description", description)
        browser.fill(f"line_items-{row}-quantity", quantity)
        browser.fill(f"line_items-{row}-unit_price", price)
    browser.save("_save")
    _added(browser)
    proposal = _in_demo(lambda: Proposal.objects.get(opportunity=opportunity))
    assert proposal.total == 2400
    for action, done in (("send", "Sent: 1."), ("mark_accepted", "Accepted: 1.")):
        browser.open(reverse("admin:crm_proposal_changelist"))
        browser.run_action(action, [str(proposal.pk)])
        assert done in browser.messages()
    assert _in_demo(lambda: Proposal.objects.get(pk=proposal.pk).status) == (
        ProposalStatus.ACCEPTED
    )

    # The contract drawn from it: the signer's name, then the signature.
    contract = _in_demo(lambda: Contract.objects.get(proposal=proposal))
    browser.open(reverse("admin:crm_contract_change", args=[contract.pk]))
    browser.fill("signer_name", "Pat Plumber")
    browser.fill("signer_email", f"pat.{role}.{number}@journey.example")
    browser.save("_continue")
    assert browser.errors() == []
    for action, done in (("send", "Sent: 1."), ("sign", "Signed: 1.")):
        browser.open(reverse("admin:crm_contract_changelist"))
        browser.run_action(action, [str(contract.pk)])
        assert done in browser.messages()
    signed = _in_demo(lambda: Contract.objects.get(pk=contract.pk))
    assert signed.status == ContractStatus.SIGNED and signed.signer_name == "Pat Plumber"
    won = _in_demo(lambda: Opportunity.objects.get(pk=opportunity.pk))
    assert won.status == OpportunityStatus.WON


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_an_ai_call_campaign_and_its_results(browser, read, worker, provider, role):
    organization = pages.demo_organization()
    tag = f"journey-{role}"
    rep = User.objects.get(email=pages.email_of("rep"))
    lead = crm_factories.lead(organization, tags=[_tag(organization, tag)], assigned_to=rep)
    browser.login(pages.email_of(role))

    # The provider's signing secret, shown once when it is created.
    browser.open(reverse("admin:crm_campaign_webhook_secret"))
    browser.click("input[type=submit]")
    secret = browser.find("code[style*='user-select']").text

    browser.open(reverse("admin:crm_campaign_add"))
    browser.fill("name", f"Journey calls {role}")
    browser.fill("script", "Offer a website with online booking.")
    browser.fill("calling_hours_start", "00:00")
    browser.fill("calling_hours_end", "23:59:59")
    for weekend in ("5", "6"):  # Monday to Friday are ticked; the test may run on any day
        browser.find(f"input[name='calling_days'][value='{weekend}']").click()
    browser.fill("lead_filter-tags", tag)
    browser.save("_save")
    _added(browser)
    campaign = _in_demo(lambda: Campaign.objects.get(name=f"Journey calls {role}"))
    browser.open(reverse("admin:crm_campaign_changelist"))
    browser.run_action("launch", [str(campaign.pk)])
    assert "Launched: 1." in browser.messages()

    call = _wait_for(lambda: _in_demo(lambda: AICall.objects.filter(campaign=campaign).first()))
    call = _wait_for(lambda: _in_demo(lambda: AICall.objects.get(pk=call.pk).provider_call_id))
    assert call, "the worker placed no call"
    assert any(r["json"]["company_name"] == lead.company.name for r in provider.requests)

    _deliver(browser.base_url, organization, secret, call)
    browser.open(reverse("admin:crm_campaign_change", args=[campaign.pk]))
    results = browser.find(".field-results").text
    assert "completed: 1" in results and "meeting_booked: 1" in results, results
    browser.open(reverse("admin:leads_lead_change", args=[lead.pk]))
    timeline = browser.find("#content").text
    assert f"AI call ({campaign.name}): Completed · Meeting Booked" in timeline, timeline


def test_export_and_erase_a_person(browser, read, tmp_path):
    organization = pages.demo_organization()
    lead = crm_factories.lead(organization, contact_email="dana.drip@journey.example")
    browser.login(pages.email_of("admin"))
    changelist = reverse("admin:leads_lead_changelist")
    export = browser.post_action(changelist, "export_subject_data", [str(lead.pk)])
    assert export.status_code == 200
    assert "attachment" in export.headers["Content-Disposition"]
    assert b"dana.drip@journey.example" in export.content

    browser.open(changelist + "?q=" + lead.company.name.replace(" ", "+"))
    browser.run_action("erase_subject_data", [str(lead.pk)])
    browser.click("input[type=submit]")
    assert "Erased 1 person(s)." in browser.messages()
    erased = _in_demo(lambda: Lead.all_objects.get(pk=lead.pk))
    assert erased.contact_email != "dana.drip@journey.example"

    # Final: her page takes no new file, and says why.
    notes = tmp_path / "notes.txt"
    notes.write_text("Call Dana back after 3pm.\n")
    browser.open(reverse("admin:leads_lead_change", args=[lead.pk]))
    browser.find("#attachments input[type=file]").send_keys(str(notes))
    browser.click("#attachments input[value=Attach]")
    assert any("was erased" in message for message in browser.messages()), browser.messages()
    assert _in_demo(lambda: Attachment.all_objects.filter(lead_id=lead.pk).count()) == 0


def _tag(organization, name: str):
    from leads.models import Tag

    with tenant_context(organization):
        return Tag.objects.get_or_create(organization=organization, name=name)[0]


def _wait_for(read_value, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = read_value()
        if value:
            return value
        time.sleep(0.5)
    return None


def _deliver(base_url: str, organization, secret: str, call_id: str) -> None:
    """The provider's signed result webhook, as the provider sends it."""
    body = json.dumps(
        {
            "call_id": call_id,
            "status": "completed",
            "started_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
            "duration_seconds": 184,
            "summary": "Wants a new website; meeting booked.",
            "sentiment": "positive",
            "outcome": "meeting_booked",
            "meeting_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
        }
    ).encode()
    meta = crm_factories.signed_headers(organization, secret, body)
    headers = {key[5:].replace("_", "-").title(): value for key, value in meta.items()}
    response = requests.post(
        f"{base_url}/api/v1/webhooks/ai-calls/",
        data=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=60,
    )
    assert response.status_code in (200, 202), response.text
