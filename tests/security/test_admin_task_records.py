"""A task names the lead and the deal it is on only to whoever may read them: a task
assigned to a rep (by a manager, or kept when its lead went to a colleague) stays theirs
to work, but its list, its page and its history say nothing of a colleague's lead or
deal, whose own pages are a 404 for them. Saving the task's page leaves them as they are."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm import services
from crm.models import Task
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import admin_browser, session_client
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db

HIDDEN = ("Kestrel Roofing", "Kestrel website", "Osprey Glazing")


@pytest.fixture
def task_on_their_lead(org_a, rep_a, rep_a2):
    """rep_a's task on rep_a2's lead and deal, moved once from another lead of rep_a2's."""
    first = factories.lead(org_a, assigned_to=rep_a2, company_name="Osprey Glazing")
    lead = factories.qualified_lead(org_a, assigned_to=rep_a2, company_name="Kestrel Roofing")
    deal = factories.opportunity(org_a, owner=rep_a2, lead=lead, name="Kestrel website")
    task = factories.task(org_a, title="Call back about the roof", assigned_to=rep_a, lead=first)
    with tenant_context(org_a):
        return services.task_update(task=task, acting_user=None, lead=lead, opportunity=deal)


def test_a_task_names_only_the_records_its_reader_may_read(task_on_their_lead, rep_a, admin_a):
    task = task_on_their_lead
    pages = [
        reverse("admin:crm_task_changelist"),
        reverse("admin:crm_task_change", args=[task.pk]),
        reverse("admin:crm_task_history", args=[task.pk]),
    ]
    everyone, mine = session_client(admin_a), session_client(rep_a)

    assert "Kestrel Roofing" in everyone.get(pages[1]).content.decode()
    for page in pages:
        shown = mine.get(page).content.decode()
        assert "Call back about the roof" in shown, page
        assert not [name for name in HIDDEN if name in shown], page


def test_saving_the_task_keeps_the_records_it_does_not_show(task_on_their_lead, rep_a):
    task = task_on_their_lead
    client = admin_browser(rep_a)
    page = reverse("admin:crm_task_change", args=[task.pk])
    data = form_data(client.get(page).content.decode(), "task_form")
    data["title"] = ["Call back about the new roof"]

    assert client.post(page, data).status_code == 302

    with tenant_context(task.organization):
        saved = Task.objects.get(pk=task.pk)
    assert saved.title == "Call back about the new roof"
    assert (saved.lead_id, saved.opportunity_id) == (task.lead_id, task.opportunity_id)
