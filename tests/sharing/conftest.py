"""Records to share (a lead and a deal of rep_a), and reader_a: a member whose role reads
every lead and deal of the organization but edits only their own."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from accounts.models import UserObjectGrant
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.factories import acting_as, make_member
from tests.leads.factories import make_lead

SHARED = (Resource.LEADS, Resource.OPPORTUNITIES)


def build_record(resource: str, organization, owner):
    if resource == Resource.LEADS:
        return make_lead(organization, contact_name="Sam Shared", assigned_to=owner)
    return crm_factories.opportunity(organization, owner=owner, name="Shared deal")


@pytest.fixture(params=SHARED)
def resource(request) -> str:
    return request.param


@pytest.fixture
def record_a(resource, org_a, rep_a):
    """rep_a's lead or deal: in manager_a's team, outside rep_a2's reach."""
    return build_record(resource, org_a, rep_a)


@pytest.fixture
def reader_a(org_a, admin_a):
    grants = {(r, Action.READ): Scope.ALL for r in (*SHARED, Resource.COMPANIES)}
    grants |= {(r, Action.UPDATE): Scope.OWN for r in SHARED}
    with acting_as(admin_a, org_a):
        account_services.role_create(
            name="Reader", slug="reader", grants=grants, acting_user=admin_a
        )
    return make_member(org_a, "reader")


def grant_rows(organization, record) -> list[tuple[str, str]]:
    """The record's stored grants: (grantee email, permission codename), sorted."""
    with tenant_context(organization):
        rows = UserObjectGrant.objects.filter(object_pk=str(record.pk))
        return sorted(rows.values_list("user__email", "permission__codename"))
