"""A save, a step or a revert the services refuse, or one that meets a row another change
holds, shows the form again as typed with the reason (at the field it names), not a
server error, and writes nothing; a past version is saved back; a page the user may not
open is a 403, never a redirect loop; what a rep adds stays in their lists."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from accounts.models import User
from crm import services
from crm.choices import OpportunityStatus
from crm.models import Opportunity
from leads.models import Lead
from smartweb import outage
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages


def test_a_second_lead_for_a_company_is_refused_with_a_message(browser, read):
    organization = pages.demo_organization()
    existing = crm_factories.lead(organization)
    browser.login(pages.email_of("admin"))
    browser.open(reverse("admin:leads_lead_add"))
    browser.autocomplete("company", existing.company.name)
    browser.fill("contact_name", "Second Contact")
    browser.find("input[name='allow_duplicate']").click()
    browser.save("_save")
    assert "This company already has a lead." in " ".join(browser.messages() + browser.errors())
    with tenant_context(organization):
        assert Lead.objects.filter(company=existing.company).count() == 1


def test_a_lead_saved_while_another_change_holds_it_keeps_what_was_typed(browser, read):
    organization = pages.demo_organization()
    lead = crm_factories.lead(organization, notes="first call booked")
    typed = "Wants a quote by Friday"
    browser.login(pages.email_of("admin"))
    browser.open(reverse("admin:leads_lead_change", args=[lead.pk]))
    browser.fill("notes", typed)
    with pages.held(lead):
        browser.save()
    assert outage.LOCK_TIMEOUT_MESSAGE in browser.errors()
    assert browser.find("textarea[name='notes']").get_attribute("value") == typed
    with tenant_context(organization):
        assert Lead.objects.get(pk=lead.pk).notes == "first call booked"
    # Saved again, the other change done: saved as typed.
    browser.save()
    assert browser.errors() == []
    assert any("changed successfully" in m for m in browser.messages()), browser.messages()
    with tenant_context(organization):
        assert Lead.objects.get(pk=lead.pk).notes == typed


def test_pages_a_rep_may_not_open_are_403(browser, read):
    browser.login(pages.email_of("rep"))
    for model in ("opportunity", "campaign", "pipeline", "contract", "aicall"):
        assert browser.status(reverse(f"admin:crm_{model}_add")) == 403, model


def test_a_task_the_rep_adds_is_theirs_and_stays_in_their_list(browser, read):
    browser.login(pages.email_of("rep"))
    browser.open(reverse("admin:crm_task_add"))
    browser.fill("title", "Call back the roofer")
    browser.save("_save")
    assert any("successfully" in m for m in browser.messages()), browser.messages()
    browser.open(reverse("admin:crm_task_changelist") + "?q=Call+back+the+roofer")
    assert "Call back the roofer" in browser.texts("#result_list tbody tr th a")


def test_a_change_the_services_refuse_at_a_field_is_shown_at_that_field(browser, read):
    organization = pages.demo_organization()
    deal = crm_factories.opportunity(organization, name="Live currency deal")
    crm_factories.proposal(organization, deal)  # in the deal's currency
    browser.login(pages.email_of("admin"))
    browser.open(reverse("admin:crm_opportunity_change", args=[deal.pk]))
    browser.fill("name", "Live currency deal, renamed")
    browser.fill("currency", "USD")
    browser.save()
    assert browser.texts(".field-currency ul.errorlist li") == [
        "The opportunity has proposals in another currency."
    ]
    assert browser.texts(".errorlist.nonfield li") == []
    assert browser.find("input[name='name']").get_attribute("value") == (
        "Live currency deal, renamed"
    )
    assert browser.find("input[name='currency']").get_attribute("value") == "USD"
    with tenant_context(organization):
        stored = Opportunity.objects.get(pk=deal.pk)
    assert (stored.name, stored.currency) == ("Live currency deal", deal.currency)


def test_marking_lost_a_deal_another_change_holds_keeps_the_reason_typed(browser, read):
    organization = pages.demo_organization()
    rep = User.objects.get(email=pages.email_of("rep"))
    deal = crm_factories.opportunity(organization, owner=rep)
    typed = "Went with the agency their cousin runs"
    browser.login(rep.email)
    browser.open(reverse("admin:crm_opportunity_step", args=[deal.pk, "lost"]))
    browser.fill("reason", typed)
    with pages.held(deal):
        browser.click("input[name='_step']")
    assert browser.errors() == [outage.LOCK_TIMEOUT_MESSAGE]
    assert browser.find("textarea[name='reason']").get_attribute("value") == typed
    with tenant_context(organization):
        assert Opportunity.objects.get(pk=deal.pk).status == OpportunityStatus.OPEN
    # Sent again, the other change done: marked lost with the reason typed.
    browser.click("input[name='_step']")
    assert browser.errors() == [], browser.errors()
    assert "Marked lost." in browser.messages()
    with tenant_context(organization):
        stored = Opportunity.objects.get(pk=deal.pk)
    assert (stored.status, stored.lost_reason) == (OpportunityStatus.LOST, typed)


def test_a_deal_reverted_to_a_past_version_is_saved_back_or_kept_when_refused(browser, read):
    organization = pages.demo_organization()
    deal = crm_factories.opportunity(organization, name="Live revert deal")
    with tenant_context(organization):
        services.opportunity_update(
            opportunity=deal, acting_user=None, name="Renamed meanwhile", value=Decimal("2500")
        )
        version = deal.history.order_by("history_date").first().history_id
    revert = reverse("admin:crm_opportunity_simple_history", args=[deal.pk, version])
    browser.login(pages.email_of("admin"))
    browser.open(revert)
    assert browser.find("input[name='name']").get_attribute("value") == "Live revert deal"
    typed = "Live revert deal, checked"
    browser.fill("name", typed)
    with pages.held(deal):
        browser.save("_save")
    assert outage.LOCK_TIMEOUT_MESSAGE in browser.errors()
    assert browser.find("input[name='name']").get_attribute("value") == typed
    with tenant_context(organization):
        assert Opportunity.objects.get(pk=deal.pk).name == "Renamed meanwhile"
    # Sent again, the other change done: the version is saved back, as typed.
    browser.save("_save")
    assert browser.errors() == [], browser.errors()
    with tenant_context(organization):
        stored = Opportunity.objects.get(pk=deal.pk)
    assert (stored.name, stored.value) == (typed, deal.value)
