"""A lead whose person was erased (GDPR), in the browser: its page opens for each role that
reads it, and every write is refused with the erased message, nothing written, never a
server error: an edit of the lead, a call logged or a task created from its page, an
interaction or a task added for it from their own add pages. Saved unchanged, it is
refused the same way and stays as it was; re-scored from the list with another lead, it is
skipped, and the list says so."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User
from compliance import services as compliance
from compliance.erased import ERASED_MESSAGE
from crm.models import Task
from leads.choices import InteractionType
from leads.models import Interaction, Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

LEAD_ADMIN = admin.site.get_model_admin(Lead)
# The demo roles that may change the rep's lead; the viewer only reads it.
CHANGERS = ["admin", "manager", "rep"]


@pytest.fixture
def erased(read) -> Lead:
    """One of the rep's leads, its person erased (as the compliance app erases)."""
    organization = pages.demo_organization()
    rep = User.objects.get(email=pages.email_of("rep"))
    lead = crm_factories.lead(organization, assigned_to=rep)
    with tenant_context(organization):
        compliance.erase_subject(lead=lead, acting_user=None)
        return Lead.objects.get(pk=lead.pk)


def _page(lead: Lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


def _written(lead: Lead) -> tuple:
    """What a refused write would have changed: the lead, its interactions and tasks."""
    with tenant_context(pages.demo_organization()):
        stored = Lead.all_objects.values().get(pk=lead.pk)
        stored.pop("updated_at")
        return (
            stored,
            Interaction.all_objects.filter(lead=lead).count(),
            Task.all_objects.filter(lead=lead).count(),
        )


def _refused(browser) -> None:
    shown = browser.messages() + browser.errors()
    assert ERASED_MESSAGE in shown, shown
    assert "Server Error" not in browser.driver.title


@pytest.mark.parametrize("role", [*CHANGERS, "viewer"])
def test_the_erased_leads_page_opens(browser, erased, role):
    browser.login(pages.email_of(role))
    assert browser.status(_page(erased)) == 200
    browser.open(_page(erased))
    assert browser.errors() == []


@pytest.mark.parametrize("role", CHANGERS)
def test_an_edit_of_the_erased_lead_is_refused(browser, erased, role):
    before = _written(erased)
    browser.login(pages.email_of(role))
    browser.open(_page(erased))
    browser.fill("notes", "Called again")
    browser.save("_continue")
    _refused(browser)
    assert _written(erased) == before


@pytest.mark.parametrize("role", CHANGERS)
def test_the_erased_lead_saved_unchanged_stays_as_it_was(browser, erased, role):
    before = _written(erased)
    browser.login(pages.email_of(role))
    browser.open(_page(erased))
    browser.save("_continue")
    # Refused as any save of it is (the service refuses before it compares), back on
    # the page.
    _refused(browser)
    assert browser.path.split("?")[0] == _page(erased)
    assert _written(erased) == before


@pytest.mark.parametrize("step", ["log-call", "log-note", "task"])
def test_a_step_on_the_erased_leads_page_is_refused(browser, erased, step):
    before = _written(erased)
    browser.login(pages.email_of("rep"))
    browser.open(reverse("admin:leads_lead_step", args=[erased.pk, step]))
    if browser.exists("input[name='title']"):
        browser.fill("title", "Call back")
    if browser.exists("[name='subject']"):
        browser.fill("subject", "Called back")
    browser.click("#content-main form [type=submit]")
    _refused(browser)
    assert _written(erased) == before


@pytest.mark.parametrize(
    ("add_page", "fields"),
    [
        ("admin:leads_interaction_add", {"subject": "Called back"}),
        ("admin:crm_task_add", {"title": "Call back"}),
    ],
)
def test_a_row_added_for_the_erased_lead_is_refused(browser, erased, add_page, fields):
    before = _written(erased)
    browser.login(pages.email_of("admin"))
    browser.open(f"{reverse(add_page)}?lead={erased.pk}")
    for name, value in fields.items():
        browser.fill(name, value)
    if browser.exists("select[name='type']") and not browser.selected("type")[0]:
        browser.choose("type", value=InteractionType.CALL)
    browser.save("_save")
    _refused(browser)
    assert _written(erased) == before


def test_the_rescore_action_skips_the_erased_lead_and_says_so(browser, erased):
    other = crm_factories.lead(pages.demo_organization(), company_name="Rescored, not erased")
    before = _written(erased)
    browser.login(pages.email_of("admin"))
    browser.open(f"{reverse('admin:leads_lead_changelist')}?q=erased")
    browser.run_action("rescore_selected", [str(erased.pk), str(other.pk)])
    shown = browser.messages()
    assert (
        "1 erased lead(s) skipped: a person erased at their request (GDPR) is not re-scored."
        in shown
    ), shown
    assert "Server Error" not in browser.driver.title
    assert _written(erased) == before
