"""A save the services refuse, or one that meets a row another change holds, shows the
form again as typed with the reason, not a server error, and writes nothing; a page the
user may not open is a 403, never a redirect loop; what a rep adds stays in their
lists."""

from __future__ import annotations

from django.urls import reverse

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
