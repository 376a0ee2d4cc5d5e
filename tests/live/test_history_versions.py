"""A past version's page from a row's History, in the browser: where it offers Revert,
its fields are a form to save back; where it does not (a role that only views the row,
a model whose history is never reverted), it shows the version's values and no field to
type in that no button would save."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from crm.models import Task
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

TYPED_IN = "#content-main form input:not([type='hidden']), #content-main form textarea"
CHOSEN = "#content-main form select"
REVERT = "input[name='_save']"


def _version_page(row) -> str:
    """The page of the row's first version."""
    with tenant_context(pages.demo_organization()):
        version = type(row).history.filter(id=row.pk).earliest("history_date")
    opts = row._meta
    name = f"admin:{opts.app_label}_{opts.model_name}_simple_history"
    return reverse(name, args=[row.pk, version.history_id])


@pytest.fixture
def reps_task(read):
    rep = User.objects.get(email=pages.email_of("rep"))
    return crm_factories.task(pages.demo_organization(), assigned_to=rep, title="Send the brochure")


def test_who_may_change_the_row_reverts_it_through_its_form(browser, reps_task):
    browser.login(pages.email_of("rep"))
    browser.open(_version_page(reps_task))
    assert browser.exists(REVERT)
    assert browser.values("#content-main input[name='title']") == ["Send the brochure"]


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_a_version_not_offered_for_revert_shows_values_not_fields(browser, reps_task, role):
    """The viewer reads the task and changes nothing; the rep's manager may change it,
    but a lead's history is never reverted (its changes go through the services)."""
    with tenant_context(pages.demo_organization()):
        lead = Lead.objects.filter(assigned_to__email=pages.email_of("rep")).earliest("created_at")
    browser.login(pages.email_of(role))
    rows = [lead, reps_task] if role == "viewer" else [lead]
    for row in rows:
        browser.open(_version_page(row))
        assert browser.errors() == []
        assert not browser.exists(REVERT), row
        assert browser.find_all(TYPED_IN) == [], row
        assert browser.find_all(CHOSEN) == [], row
        shown = browser.texts("#content-main .readonly")
        expected = row.title if isinstance(row, Task) else row.contact_name
        assert expected in shown, (row, shown)
