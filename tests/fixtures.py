"""Shared people: two organizations, and in A one user of each default role.

org_a, org_b                      organizations
admin_a, manager_a, rep_a, rep_a2, readonly_a    people of A (rep_a in manager_a's team)
admin_b                           an outsider: admin of B, no access to A
two_tenants                       two more organizations, each with an API client of its
                                  admin and the names of its three leads
"""

import pytest

from leads.models import Company, Lead
from smartweb.tenancy.context import tenant_context
from tests import factories


@pytest.fixture
def org_a(db):
    return factories.make_organization("Acme Web Sales", slug="acme")


@pytest.fixture
def org_b(db):
    return factories.make_organization("Bravo Leads", slug="bravo")


@pytest.fixture
def admin_a(org_a):
    return factories.org_admin(org_a)


@pytest.fixture
def admin_b(org_b):
    return factories.org_admin(org_b)


@pytest.fixture
def team_a(org_a):
    return factories.make_team(org_a, "North")


@pytest.fixture
def manager_a(org_a, team_a):
    return factories.make_member(org_a, "sales_manager", team=team_a)


@pytest.fixture
def rep_a(org_a, team_a):
    return factories.make_member(org_a, "sales_rep", team=team_a)


@pytest.fixture
def rep_a2(org_a):
    """A sales rep outside manager_a's team."""
    return factories.make_member(org_a, "sales_rep")


@pytest.fixture
def readonly_a(org_a):
    return factories.make_member(org_a, "read_only")


@pytest.fixture
def two_tenants(db):
    tenants = []
    for name in ("Alpha Sites", "Beta Sites"):
        organization = factories.make_organization(name)
        admin = factories.org_admin(organization)
        with tenant_context(organization):
            names = {f"{name} lead {i}" for i in range(3)}
            for company_name in names:
                Lead.objects.create(company=Company.objects.create(name=company_name))
        tenants.append((factories.api_client(admin, organization), names))
    return tenants
