"""A bulk action on the lead list that meets a concurrent change it cannot wait out, in
the browser: another session holds one of the selected leads locked for longer than a web
request's lock timeout. The action ends back on the list with a message that says what
happened (another change held those leads; nothing was saved; try again), never the
"database cannot be reached" page, and no selected lead changed. Sent again once the
other change is done, it goes through."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User
from leads.choices import LeadStatus
from leads.models import Lead
from smartweb import outage
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

LEADS = reverse("admin:leads_lead_changelist")


@pytest.fixture
def two_leads(read) -> list[Lead]:
    rep = User.objects.get(email=pages.email_of("rep"))
    return [crm_factories.lead(pages.demo_organization(), assigned_to=rep) for _ in range(2)]


def _stored(leads: list[Lead]) -> list[tuple]:
    with tenant_context(pages.demo_organization()):
        rows = Lead.all_objects.filter(pk__in=[lead.pk for lead in leads]).order_by("pk")
        return [(r.assigned_to_id, r.status, r.updated_at) for r in rows]


def _confirm(browser, action: str, leads: list[Lead]) -> None:
    """The action chosen on the list for the leads: its confirmation page."""
    browser.open(f"{LEADS}?q=Trade+Co")
    browser.run_action(action, [str(lead.pk) for lead in leads])
    assert f"{len(leads)} selected" in browser.find("#content").text


def _apply_while_held(browser, leads: list[Lead]) -> None:
    before = _stored(leads)
    with pages.held(leads[-1]):
        browser.click("input[type=submit]")
    assert browser.messages() == [outage.LOCK_TIMEOUT_MESSAGE], browser.driver.title
    assert browser.path.split("?")[0] == LEADS
    assert _stored(leads) == before


def test_an_assign_that_meets_a_held_lead_says_so_and_changes_nothing(browser, two_leads):
    manager = User.objects.get(email=pages.email_of("manager"))
    browser.login(pages.email_of("admin"))
    _confirm(browser, "assign_selected", two_leads)
    browser.choose("assigned_to", value=str(manager.pk))
    _apply_while_held(browser, two_leads)
    # Sent again, nothing holding the leads any more: assigned.
    _confirm(browser, "assign_selected", two_leads)
    browser.choose("assigned_to", value=str(manager.pk))
    browser.click("input[type=submit]")
    assert "Assigned 2 lead(s)." in browser.messages()


def test_a_status_change_that_meets_a_held_lead_says_so_and_changes_nothing(browser, two_leads):
    browser.login(pages.email_of("manager"))
    _confirm(browser, "change_status_selected", two_leads)
    browser.choose("status", value=LeadStatus.CONTACTED)
    _apply_while_held(browser, two_leads)


@pytest.mark.parametrize("role", ["admin", "manager", "rep"])
def test_a_lead_of_the_selection_saved_unchanged(browser, two_leads, role):
    browser.login(pages.email_of(role))
    browser.open(reverse("admin:leads_lead_change", args=[two_leads[0].pk]))
    pages.save_unchanged(browser, admin.site.get_model_admin(Lead), two_leads[0].pk)
