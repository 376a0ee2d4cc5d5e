"""A record shared for viewing is viewed, not worked on (ADR 0041): a colleague a lead is
shared with "Can view" does not convert it into a deal of their own (which took the sale
from its owner, who could no longer convert it), and one a deal is shared with for viewing
does not add proposals to it. Neither is offered on the record's page, the forms refuse
the record as one they do not offer, and the API answers 403; the owner still may."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.admin import CONVERTIBLE_LEADS_ONLY
from crm.models import Opportunity, Proposal, Task
from leads.models import Interaction
from tests.crm import factories
from tests.factories import admin_browser, api_client, count_rows, share

pytestmark = pytest.mark.django_db


LINE = {"description": "Website", "quantity": "1", "unit_price": "1000.00"}


def test_a_lead_shared_for_viewing_is_not_converted_by_its_viewer(org_a, manager_a, rep_a2):
    lead = factories.qualified_lead(org_a, assigned_to=manager_a)
    share(lead, rep_a2, org_a, by=manager_a, access="read")
    convert = reverse("admin:crm_opportunity_convert")
    viewer = admin_browser(rep_a2)

    page = viewer.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert page.status_code == 200 and convert not in page.content.decode()
    refused = viewer.post(convert, {"lead": str(lead.pk), "value": "100", "owner": str(rep_a2.pk)})
    assert refused.status_code == 200 and CONVERTIBLE_LEADS_ONLY in refused.content.decode()
    answer = api_client(rep_a2, org_a).post(
        "/api/v1/opportunities/convert/", {"lead": str(lead.pk)}, format="json"
    )
    assert answer.status_code == 403
    assert count_rows(org_a, Opportunity, lead=lead) == 0

    done = admin_browser(manager_a).post(convert, {"lead": str(lead.pk), "value": "100"})
    assert done.status_code == 302 and count_rows(org_a, Opportunity, lead=lead) == 1


def test_a_deal_shared_for_viewing_gets_no_proposal_from_its_viewer(org_a, manager_a, rep_a2):
    deal = factories.opportunity(org_a, owner=manager_a)
    share(deal, rep_a2, org_a, by=manager_a, access="read")
    add = reverse("admin:crm_proposal_add")
    viewer = admin_browser(rep_a2)

    page = viewer.get(reverse("admin:crm_opportunity_change", args=[deal.pk]))
    assert page.status_code == 200 and f"{add}?opportunity={deal.pk}" not in page.content.decode()
    refused = viewer.post(
        add,
        {
            "opportunity": str(deal.pk),
            "title": "A proposal by a viewer",
            "line_items-TOTAL_FORMS": "0",
            "line_items-INITIAL_FORMS": "0",
        },
    )
    assert refused.status_code == 200 and b"Select a valid choice" in refused.content
    answer = api_client(rep_a2, org_a).post(
        "/api/v1/proposals/",
        {"opportunity": str(deal.pk), "title": "By API", "line_items": [LINE]},
        format="json",
    )
    assert answer.status_code == 403
    assert count_rows(org_a, Proposal, opportunity=deal) == 0

    owner = api_client(manager_a, org_a).post(
        "/api/v1/proposals/",
        {"opportunity": str(deal.pk), "title": "By its owner", "line_items": [LINE]},
        format="json",
    )
    assert owner.status_code == 201 and count_rows(org_a, Proposal, opportunity=deal) == 1


# --- what is added to a record: tasks and notes --------------------------------------------


def test_a_lead_shared_for_viewing_gets_no_task_or_note_from_its_viewer(org_a, manager_a, rep_a2):
    lead = factories.lead(org_a, assigned_to=manager_a)
    share(lead, rep_a2, org_a, by=manager_a, access="read")
    viewer = admin_browser(rep_a2)
    lead_page = reverse("admin:leads_lead_change", args=[lead.pk])
    task_step = lead_page.replace("/change/", "/steps/task/")

    page = viewer.get(lead_page)
    assert page.status_code == 200
    assert "steps/task/" not in page.content.decode()
    assert "steps/log-note/" not in page.content.decode()
    by_step = viewer.post(task_step, {"title": "A task by a viewer"})
    assert by_step.status_code == 403
    by_page = viewer.post(
        reverse("admin:crm_task_add"),
        {
            "title": "A task by a viewer",
            "type": "follow_up",
            "priority": "normal",
            "status": "open",
            "lead": str(lead.pk),
        },
    )
    assert by_page.status_code in (200, 403)
    api = api_client(rep_a2, org_a)
    task = api.post("/api/v1/tasks/", {"title": "By API", "lead": str(lead.pk)}, format="json")
    note = api.post(
        "/api/v1/interactions/",
        {"lead": str(lead.pk), "type": "note", "content": "A note by a viewer"},
        format="json",
    )
    assert (task.status_code, note.status_code) == (403, 403)
    assert count_rows(org_a, Task, lead=lead) == 0
    assert count_rows(org_a, Interaction, lead=lead) == 0
    # Reading stays: the viewer still opens the lead.
    assert api.get(f"/api/v1/leads/{lead.pk}/").status_code == 200

    owner = api_client(manager_a, org_a)
    done = owner.post(
        "/api/v1/tasks/", {"title": "By its owner", "lead": str(lead.pk)}, format="json"
    )
    assert done.status_code == 201 and count_rows(org_a, Task, lead=lead) == 1


def test_a_deal_shared_for_viewing_gets_no_task_from_its_viewer(org_a, manager_a, rep_a2):
    deal = factories.opportunity(org_a, owner=manager_a)
    share(deal, rep_a2, org_a, by=manager_a, access="read")

    answer = api_client(rep_a2, org_a).post(
        "/api/v1/tasks/", {"title": "By API", "opportunity": str(deal.pk)}, format="json"
    )

    assert answer.status_code == 403
    assert count_rows(org_a, Task, opportunity=deal) == 0


def test_a_record_shared_for_editing_gets_tasks_from_its_colleague(org_a, manager_a, rep_a2):
    lead = factories.lead(org_a, assigned_to=manager_a)
    share(lead, rep_a2, org_a, by=manager_a, access="update")

    answer = api_client(rep_a2, org_a).post(
        "/api/v1/tasks/", {"title": "Covering", "lead": str(lead.pk)}, format="json"
    )

    assert answer.status_code == 201 and count_rows(org_a, Task, lead=lead) == 1
