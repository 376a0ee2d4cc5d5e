"""A lead or deal shared for editing is worked on, not taken over (ADR 0041): its colleague
does not convert the lead (the deal would be theirs, out of its owner's reach), nor add a
proposal to the deal (a proposal is in its deal's scope, which no share widens: they were
answered 201 for a proposal they then could not read). Neither is offered on the record's
page, the admin's forms refuse the record with the reason, the API answers 403 with it and
writes nothing; the owner still may, and another organization's user gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.admin import CONVERTIBLE_LEADS_ONLY
from crm.models import Opportunity, Proposal
from crm.proposal_reach import NOT_BY_A_SHARE as PROPOSAL_NOT_BY_A_SHARE
from leads.models import Lead
from sharing.reassigning import NOT_CONVERTED_BY_A_SHARE
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import admin_browser, api_client, count_rows, share

pytestmark = pytest.mark.django_db

LINE = {"description": "Website", "quantity": "1", "unit_price": "1000.00"}
CONVERT = "/api/v1/opportunities/convert/"


def test_a_lead_shared_for_editing_is_converted_by_its_owner_only(org_a, rep_a, rep_a2, admin_b):
    lead = factories.qualified_lead(org_a, assigned_to=rep_a)
    share(lead, rep_a2, org_a, by=rep_a, access="update")
    colleague = api_client(rep_a2, org_a)

    for body in ({"lead": str(lead.pk)}, {"lead": str(lead.pk), "owner": str(rep_a2.pk)}):
        refused = colleague.post(CONVERT, body, format="json")
        assert refused.status_code == 403, refused.json()
        assert refused.json()["error"]["message"] == NOT_CONVERTED_BY_A_SHARE
    assert count_rows(org_a, Opportunity, lead=lead) == 0
    # The share is for working on it: editing the lead stays theirs.
    edited = colleague.patch(f"/api/v1/leads/{lead.pk}/", {"notes": "Covering"}, format="json")
    assert edited.status_code == 200, edited.json()

    # Another organization's user is told nothing of it.
    outsider = api_client(admin_b)
    assert outsider.get(f"/api/v1/leads/{lead.pk}/").status_code == 404
    assert outsider.post(CONVERT, {"lead": str(lead.pk)}, format="json").status_code == 400
    assert count_rows(org_a, Opportunity, lead=lead) == 0

    converted = api_client(rep_a, org_a).post(CONVERT, {"lead": str(lead.pk)}, format="json")
    assert converted.status_code == 201, converted.json()
    assert converted.json()["owner"]["id"] == str(rep_a.pk)


def test_the_admin_does_not_offer_converting_a_lead_shared_for_editing(org_a, rep_a, rep_a2):
    lead = factories.qualified_lead(org_a, assigned_to=rep_a)
    share(lead, rep_a2, org_a, by=rep_a, access="update")
    convert = reverse("admin:crm_opportunity_convert")
    colleague = admin_browser(rep_a2)

    page = colleague.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert page.status_code == 200 and convert not in page.content.decode()
    form = colleague.get(f"{convert}?lead={lead.pk}").content.decode()
    assert f'value="{lead.pk}"' not in form
    refused = colleague.post(convert, {"lead": str(lead.pk), "value": "100"})
    assert refused.status_code == 200
    assert CONVERTIBLE_LEADS_ONLY in refused.content.decode()
    assert count_rows(org_a, Opportunity, lead=lead) == 0

    owner = admin_browser(rep_a)
    assert convert in owner.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    done = owner.post(convert, {"lead": str(lead.pk), "value": "100"})
    assert done.status_code == 302
    with tenant_context(org_a):
        assert Opportunity.objects.get(lead=lead).owner_id == rep_a.pk


def _status(organization, lead) -> str:
    with tenant_context(organization):
        return Lead.objects.get(pk=lead.pk).status


def test_a_lead_shared_for_editing_is_not_set_converted_by_its_colleague(
    org_a, rep_a, rep_a2, admin_b
):
    """Setting the status to converted takes the sale over as converting does: refused at
    `status` (400) as a reassignment is, by the change of status and by a change of the
    lead alike. Its other moves stay the colleague's; its owner converts it."""
    lead = factories.qualified_lead(org_a, assigned_to=rep_a)
    share(lead, rep_a2, org_a, by=rep_a, access="update")
    colleague, url = api_client(rep_a2, org_a), f"/api/v1/leads/{lead.pk}/"
    converted = {"status": "converted"}

    for refused in (
        colleague.post(f"{url}change-status/", converted, format="json"),
        colleague.patch(url, converted, format="json"),
    ):
        assert refused.status_code == 400, refused.json()
        assert refused.json()["error"]["details"] == {"status": [NOT_CONVERTED_BY_A_SHARE]}
    assert _status(org_a, lead) == "qualified"

    outsider = api_client(admin_b).post(f"{url}change-status/", converted, format="json")
    assert outsider.status_code == 404
    moved = colleague.post(f"{url}change-status/", {"status": "nurturing"}, format="json")
    assert moved.status_code == 200, moved.json()
    done = api_client(rep_a, org_a).post(f"{url}change-status/", converted, format="json")
    assert done.status_code == 200, done.json()
    assert _status(org_a, lead) == "converted"


def test_the_admins_status_action_does_not_convert_a_lead_shared_for_editing(org_a, rep_a, rep_a2):
    lead = factories.qualified_lead(org_a, assigned_to=rep_a)
    share(lead, rep_a2, org_a, by=rep_a, access="update")
    action = {
        "action": "change_status_selected",
        "_selected_action": [str(lead.pk)],
        "apply": "1",
        "status": "converted",
        "reason": "",
    }
    changelist = reverse("admin:leads_lead_changelist")

    answer = admin_browser(rep_a2).post(changelist, action, follow=True)
    shown = [str(message) for message in answer.context["messages"]]
    assert "Changed 0 lead(s)." in shown
    assert any(NOT_CONVERTED_BY_A_SHARE in message for message in shown), shown
    assert _status(org_a, lead) == "qualified"

    admin_browser(rep_a).post(changelist, action)
    assert _status(org_a, lead) == "converted"


def test_a_deal_shared_for_editing_gets_no_proposal_from_its_colleague(
    org_a, rep_a, rep_a2, admin_b
):
    deal = factories.opportunity(org_a, owner=rep_a)
    share(deal, rep_a2, org_a, by=rep_a, access="update")
    colleague = api_client(rep_a2, org_a)
    body = {"opportunity": str(deal.pk), "title": "By a colleague", "line_items": [LINE]}

    refused = colleague.post("/api/v1/proposals/", body, format="json")
    assert refused.status_code == 403, refused.json()
    assert refused.json()["error"]["message"] == PROPOSAL_NOT_BY_A_SHARE
    assert count_rows(org_a, Proposal, opportunity=deal) == 0
    renamed = colleague.patch(
        f"/api/v1/opportunities/{deal.pk}/", {"name": "Renamed"}, format="json"
    )
    assert renamed.status_code == 200, renamed.json()

    outsider = api_client(admin_b)
    assert outsider.get(f"/api/v1/opportunities/{deal.pk}/").status_code == 404
    assert outsider.post("/api/v1/proposals/", body, format="json").status_code == 400
    assert count_rows(org_a, Proposal, opportunity=deal) == 0

    added = api_client(rep_a, org_a).post("/api/v1/proposals/", body, format="json")
    assert added.status_code == 201, added.json()
    assert (
        api_client(rep_a, org_a).get(f"/api/v1/proposals/{added.json()['id']}/").status_code == 200
    )


def test_the_admin_does_not_offer_a_proposal_on_a_deal_shared_for_editing(org_a, rep_a, rep_a2):
    deal = factories.opportunity(org_a, owner=rep_a)
    share(deal, rep_a2, org_a, by=rep_a, access="update")
    add = reverse("admin:crm_proposal_add")
    deal_page = reverse("admin:crm_opportunity_change", args=[deal.pk])
    colleague = admin_browser(rep_a2)

    page = colleague.get(deal_page)
    assert page.status_code == 200 and f"{add}?opportunity={deal.pk}" not in page.content.decode()
    lead_page = colleague.get(reverse("admin:leads_lead_change", args=[deal.lead_id]))
    assert lead_page.status_code == 404  # the lead is not shared with them
    refused = colleague.post(
        add,
        {
            "opportunity": str(deal.pk),
            "title": "By a colleague",
            "line_items-TOTAL_FORMS": "0",
            "line_items-INITIAL_FORMS": "0",
        },
    )
    assert refused.status_code == 200 and b"Select a valid choice" in refused.content
    assert count_rows(org_a, Proposal, opportunity=deal) == 0

    owner_page = admin_browser(rep_a).get(deal_page).content.decode()
    assert f"{add}?opportunity={deal.pk}" in owner_page
