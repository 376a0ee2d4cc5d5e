"""The compliance permission: admin roles have it (existing organizations through the
migration), other default roles do not."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from accounts.models import RolePermission
from smartweb import access
from smartweb.rbac import DEFAULT_ROLES, Action, Resource
from smartweb.tenancy.context import tenant_context
from tests import factories

pytestmark = pytest.mark.django_db

grant_migration = importlib.import_module("accounts.migrations.0004_compliance_resource")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("org_admin", True), ("sales_manager", False), ("sales_rep", False), ("read_only", False)],
)
def test_only_admins_handle_subject_requests(org_a, role, allowed):
    user = factories.make_member(org_a, role)
    with factories.acting_as(user, org_a):
        for action in (Action.READ, Action.DELETE):
            assert access.can(user, action, Resource.COMPLIANCE) is allowed


def test_default_roles_grant_compliance_to_admins_only():
    holders = {
        slug
        for slug, (_, grants) in DEFAULT_ROLES.items()
        if any(resource == Resource.COMPLIANCE for resource, _ in grants)
    }
    assert holders == {"super_admin", "org_admin"}


class _SchemaEditor:
    connection = connection


def _migration_apps():
    """The models as the migration sees them (plain managers, no tenant scoping)."""
    state = MigrationLoader(connection).project_state(("accounts", "0004_compliance_resource"))
    return state.apps


def test_the_migration_grants_it_to_existing_organizations(org_a, org_b):
    """Organizations made before the resource existed get it, each in its own context
    (the migration runs under FORCE ROW LEVEL SECURITY)."""
    for organization in (org_a, org_b):
        with tenant_context(organization):
            RolePermission.objects.filter(resource=Resource.COMPLIANCE).delete()
    grant_migration.grant_compliance(_migration_apps(), _SchemaEditor())
    for organization in (org_a, org_b):
        with tenant_context(organization):
            granted = set(
                RolePermission.objects.filter(resource=Resource.COMPLIANCE).values_list(
                    "role__slug", "action"
                )
            )
        assert granted == {(slug, a) for slug in grant_migration.ADMIN_ROLES for a in Action}
    grant_migration.grant_compliance(_migration_apps(), _SchemaEditor())  # idempotent
    with tenant_context(org_a):
        assert RolePermission.objects.filter(resource=Resource.COMPLIANCE).count() == 8
