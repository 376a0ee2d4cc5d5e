"""The lead page as the hub, in the browser on the demo data: a rep is offered the steps
allowed now and only those, qualifies the lead and converts it from the buttons, and
finds both on the lead's timeline; the opportunity's page then carries its own steps.
The page lists the lead's tags by their names."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import User
from crm.models import Opportunity
from leads.choices import LeadStatus
from leads.models import Lead, Tag
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

STEPS_OF_A_NEW_LEAD = {
    "qualify",
    "disqualify",
    "status",
    "log-call",
    "log-email",
    "log-meeting",
    "log-note",
    # Every demo lead has an email address.
    "send-email",
    "task",
}


def _in_demo(query):
    with tenant_context(pages.demo_organization()):
        return query()


def _offered(browser) -> set[str]:
    return set(
        browser.read(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.dataset.step)",
            "#next-steps a",
        )
    )


def _a_rep_lead_to_work_on(rep: User) -> Lead:
    return _in_demo(
        lambda: (
            Lead.objects.filter(assigned_to=rep, status__in=[LeadStatus.NEW, LeadStatus.CONTACTED])
            .exclude(opportunities__status="open")
            .order_by("created_at")
            .first()
        )
    )


def test_a_rep_qualifies_then_converts_a_lead_from_its_buttons(browser, read):
    rep = User.objects.get(email=pages.email_of("rep"))
    lead = _a_rep_lead_to_work_on(rep)
    assert lead is not None, "the demo gives the rep a new or contacted lead"
    page = reverse("admin:leads_lead_change", args=[lead.pk])
    browser.login(rep.email)
    browser.open(page)
    assert _offered(browser) == STEPS_OF_A_NEW_LEAD, "a rep may not convert nor erase yet"
    assert browser.exists("#timeline") and browser.exists("table.score-breakdown")

    browser.click("#next-steps a[data-step='qualify']")
    browser.fill("reason", "Asked for a quote for a new website")
    browser.click("input[name='_step']")
    assert browser.errors() == [], browser.errors()
    assert "Status changed." in browser.messages()
    assert _in_demo(lambda: Lead.objects.get(pk=lead.pk).status) == LeadStatus.QUALIFIED
    offered = _offered(browser)
    assert "convert" in offered and "qualify" not in offered, offered
    assert "Asked for a quote for a new website" in browser.find("#timeline").text

    browser.click("#next-steps a[data-step='convert']")
    assert browser.selected("lead") == [str(lead.pk)], "the convert page starts on this lead"
    browser.click("input[type='submit'][value='Convert']")
    assert browser.errors() == [], browser.errors()
    opportunity = _in_demo(lambda: Opportunity.objects.get(lead_id=lead.pk, status="open"))
    assert browser.path == reverse("admin:crm_opportunity_change", args=[opportunity.pk])
    assert _offered(browser) == {"move", "won", "lost", "proposal"}

    browser.open(page)
    offered = _offered(browser)
    assert "proposal" in offered and "convert" not in offered, offered
    assert f"Opportunity: {opportunity.name}" in browser.find("#timeline").text


def test_the_admin_is_also_offered_the_erasure_and_the_manager_not(browser, read):
    rep = User.objects.get(email=pages.email_of("rep"))
    lead = _a_rep_lead_to_work_on(rep)
    page = reverse("admin:leads_lead_change", args=[lead.pk])
    browser.login(pages.email_of("admin"))
    browser.open(page)
    assert _offered(browser) == STEPS_OF_A_NEW_LEAD | {"erase"}
    browser.click("#next-steps a[data-step='erase']")
    assert "This cannot be undone" in browser.find("#content").text
    browser.click("a.cancel-link")
    assert browser.path == page
    assert _in_demo(lambda: Lead.objects.get(pk=lead.pk).contact_name) == lead.contact_name
    browser.login(pages.email_of("manager"))
    browser.open(page)
    assert "erase" not in _offered(browser)


def test_the_lead_page_lists_its_tags_by_name(browser, read):
    organization = pages.demo_organization()
    rep = User.objects.get(email=pages.email_of("rep"))
    with tenant_context(organization):
        tag = Tag.objects.create(organization=organization, name="listed-by-name")
    lead = crm_factories.lead(organization, assigned_to=rep, tags=[tag])
    browser.login(rep.email)
    browser.open(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert browser.texts("#lead_tags-group td.original p") == ["listed-by-name"]
    assert str(tag.pk) not in browser.find("#lead_tags-group").text
