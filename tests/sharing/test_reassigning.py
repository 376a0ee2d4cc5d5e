"""A lead or deal shared for editing is worked on by the colleague, not taken over: its
owner is changed, and other leads merged into it, only by those whose role reaches it
(ADR 0041). Assigned to the colleague (or their team), it would leave its owner's reach,
and taking the share back would take nothing back."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Membership, Role
from leads import services as lead_services
from leads.models import Lead
from sharing.reassigning import NOT_BY_A_SHARE, NOT_MERGED_BY_A_SHARE
from sharing.services import record_share
from smartweb.rbac import Resource
from smartweb.tenancy.context import tenant_context
from tests.factories import acting_as, api_client
from tests.sharing.conftest import build_record

pytestmark = pytest.mark.django_db

OWNER_FIELD = {Resource.LEADS: "assigned_to", Resource.OPPORTUNITIES: "owner"}


def _share_for_editing(organization, record, user) -> None:
    with tenant_context(organization):
        record_share(record=record, user=user, access_level="update", acting_user=None)


def _owner_id(organization, record):
    with tenant_context(organization):
        stored = type(record)._default_manager.get(pk=record.pk)
        return getattr(stored, f"{OWNER_FIELD[record.rbac_resource]}_id")


def test_a_rep_with_an_edit_share_edits_but_does_not_take_the_record_over(
    org_a, resource, record_a, rep_a, rep_a2
):
    _share_for_editing(org_a, record_a, rep_a2)
    grantee, field = api_client(rep_a2, org_a), OWNER_FIELD[resource]
    url = f"/api/v1/{resource}/{record_a.pk}/"

    taken = grantee.patch(url, {field: str(rep_a2.pk)}, format="json")
    assert taken.status_code == 400, taken.json()
    assert taken.json()["error"]["details"] == {field: [NOT_BY_A_SHARE]}
    assert _owner_id(org_a, record_a) == rep_a.pk
    assert api_client(rep_a, org_a).get(url).status_code == 200

    # The same owner again is no reassignment, and the rest of the record is theirs to edit.
    edit = {"notes": "Called back"} if resource == Resource.LEADS else {"name": "Renamed"}
    kept = grantee.patch(url, {field: str(rep_a.pk), **edit}, format="json")
    assert kept.status_code == 200, kept.json()


def test_a_manager_with_an_edit_share_does_not_move_the_record_into_their_team(
    org_a, resource, manager_a, rep_a, rep_a2
):
    record = build_record(resource, org_a, rep_a2)
    _share_for_editing(org_a, record, manager_a)
    field = OWNER_FIELD[resource]
    url = f"/api/v1/{resource}/{record.pk}/"

    moved = api_client(manager_a, org_a).patch(url, {field: str(rep_a.pk)}, format="json")
    assert moved.status_code == 400, moved.json()
    assert _owner_id(org_a, record) == rep_a2.pk


def test_the_role_that_reaches_the_record_still_reassigns_it(
    org_a, resource, record_a, manager_a, rep_a2
):
    _share_for_editing(org_a, record_a, rep_a2)
    field = OWNER_FIELD[resource]
    url = f"/api/v1/{resource}/{record_a.pk}/"
    moved = api_client(manager_a, org_a).patch(url, {field: str(manager_a.pk)}, format="json")
    assert moved.status_code == 200, moved.json()
    assert _owner_id(org_a, record_a) == manager_a.pk


def test_the_lead_lists_assign_action_does_not_hand_a_shared_lead_over(org_a, rep_a, rep_a2):
    lead = build_record(Resource.LEADS, org_a, rep_a)
    _share_for_editing(org_a, lead, rep_a2)
    with acting_as(rep_a2, org_a), pytest.raises(ValidationError) as refused:
        lead_services.leads_assign(leads=[lead], assignee=rep_a2, acting_user=rep_a2)
    assert refused.value.message_dict == {"assigned_to": [NOT_BY_A_SHARE]}
    assert _owner_id(org_a, lead) == rep_a.pk


def test_a_manager_with_an_edit_share_does_not_merge_their_teams_lead_into_it(
    org_a, manager_a, rep_a, rep_a2
):
    shared = build_record(Resource.LEADS, org_a, rep_a2)
    _share_for_editing(org_a, shared, manager_a)
    team_lead = build_record(Resource.LEADS, org_a, rep_a)

    merged = api_client(manager_a, org_a).post(
        f"/api/v1/leads/{shared.pk}/merge/", {"duplicates": [str(team_lead.pk)]}, format="json"
    )
    assert merged.status_code == 403, merged.json()
    assert merged.json()["error"]["message"] == NOT_MERGED_BY_A_SHARE
    with tenant_context(org_a):
        assert Lead.objects.filter(pk=team_lead.pk, merged_into__isnull=True).exists()


def test_an_edit_share_gives_nothing_once_the_colleague_is_made_read_only(
    org_a, resource, record_a, rep_a2
):
    """A share adds rows to what the colleague's role does, never an action it does not:
    made Read Only, they read the record still but edit it no more."""
    _share_for_editing(org_a, record_a, rep_a2)
    grantee, url = api_client(rep_a2, org_a), f"/api/v1/{resource}/{record_a.pk}/"
    edit = {"notes": "Called back"} if resource == Resource.LEADS else {"name": "Renamed"}
    assert grantee.patch(url, edit, format="json").status_code == 200

    with tenant_context(org_a):
        membership = Membership.objects.get(user=rep_a2)
        membership.role = Role.objects.get(slug="read_only")
        membership.save(update_fields=["role"])

    refused = grantee.patch(url, edit, format="json")
    assert refused.status_code == 403, refused.json()
    assert grantee.get(url).status_code == 200
