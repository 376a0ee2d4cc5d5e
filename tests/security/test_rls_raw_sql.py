"""Raw SQL as the runtime role, outside any test transaction (where a setting would
survive savepoints and hide a leak): RLS alone must isolate the organizations."""

import uuid

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from accounts.models import Role, Team
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.security.populate import populate_every_tenant_table

pytestmark = pytest.mark.django_db(transaction=True)

TENANT_TABLES = """
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id'
WHERE c.relkind = 'r' ORDER BY 1
"""


def _set_org(cursor, organization_id):
    cursor.execute(
        "SELECT set_config('smartweb.organization_id', %s, true)", [str(organization_id or "")]
    )


@pytest.fixture
def two_orgs():
    a = factories.make_organization("Alpha", slug="alpha")
    b = factories.make_organization("Beta", slug="beta")
    with tenant_context(b):
        team_b = Team.objects.create(name="Beta team")
    return a, b, team_b


def _tables():
    with connection.cursor() as cursor:
        cursor.execute(TENANT_TABLES)
        return [row[0] for row in cursor.fetchall()]


def _row_counts(tables, organization_id=None) -> dict[str, int]:
    with transaction.atomic(), connection.cursor() as cursor:
        if organization_id is not None:
            _set_org(cursor, organization_id)
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
        return counts


def test_no_context_reads_zero_rows_from_every_tenant_table():
    """Over tables that hold rows: an empty table would pass whatever its policy."""
    organization = populate_every_tenant_table()
    tables = _tables()
    assert "accounts_role" in tables
    empty = [t for t, n in _row_counts(tables, organization.pk).items() if n == 0]
    assert empty == [], "give these tables a row in populate_every_tenant_table()"
    assert {t: n for t, n in _row_counts(tables).items() if n} == {}


def test_context_is_empty_after_a_transaction_ends(two_orgs):
    a, _, _ = two_orgs
    with transaction.atomic(), connection.cursor() as cursor:
        _set_org(cursor, a.pk)
        cursor.execute("SELECT count(*) FROM accounts_role")
        assert cursor.fetchone()[0] == 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT smartweb_current_organization_id()")
        assert cursor.fetchone()[0] is None
        cursor.execute("SELECT count(*) FROM accounts_role")
        assert cursor.fetchone()[0] == 0


def test_context_of_a_sees_only_a(two_orgs):
    a, b, _ = two_orgs
    with transaction.atomic(), connection.cursor() as cursor:
        _set_org(cursor, a.pk)
        cursor.execute("SELECT DISTINCT organization_id FROM accounts_role")
        assert [row[0] for row in cursor.fetchall()] == [a.pk]


def test_context_of_a_cannot_update_or_delete_b(two_orgs):
    a, b, team_b = two_orgs
    with transaction.atomic(), connection.cursor() as cursor:
        _set_org(cursor, a.pk)
        cursor.execute("UPDATE accounts_team SET name = 'pwned' WHERE id = %s", [team_b.pk])
        assert cursor.rowcount == 0
        cursor.execute("DELETE FROM accounts_team WHERE id = %s", [team_b.pk])
        assert cursor.rowcount == 0
        cursor.execute("UPDATE accounts_team SET organization_id = %s", [b.pk])
        assert cursor.rowcount == 0
    with tenant_context(b):
        assert Team.objects.get(pk=team_b.pk).name == "Beta team"


def test_context_of_a_cannot_insert_for_b(two_orgs):
    a, b, _ = two_orgs
    with (
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _set_org(cursor, a.pk)
        cursor.execute(
            "INSERT INTO accounts_team (id, organization_id, name, created_at, updated_at)"
            " VALUES (%s, %s, 'sneaky', now(), now())",
            [uuid.uuid4(), b.pk],
        )


def test_moving_a_row_into_b_is_refused(two_orgs):
    a, b, _ = two_orgs
    with tenant_context(a):
        team_a = Team.objects.create(name="Alpha team")
    with (
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _set_org(cursor, a.pk)
        cursor.execute(
            "UPDATE accounts_team SET organization_id = %s WHERE id = %s", [b.pk, team_a.pk]
        )


def test_no_context_cannot_insert(two_orgs):
    a, _, _ = two_orgs
    with (
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO accounts_team (id, organization_id, name, created_at, updated_at)"
            " VALUES (%s, %s, 'orphan', now(), now())",
            [uuid.uuid4(), a.pk],
        )


def test_foreign_key_cannot_point_into_another_organization(two_orgs):
    """The composite key refuses it even though the single-column one would not."""
    a, b, team_b = two_orgs
    with tenant_context(a):
        role_a = Role.objects.get(slug="sales_rep")
    user = factories.UserFactory()
    with (
        pytest.raises(DatabaseError, match="foreign key"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _set_org(cursor, a.pk)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "INSERT INTO accounts_membership (id, organization_id, user_id, role_id, team_id,"
            " is_active, joined_at, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, true, now(), now(), now())",
            [uuid.uuid4(), a.pk, user.pk, role_a.pk, team_b.pk],
        )


def test_orm_without_context_fails_closed(two_orgs):
    from smartweb.tenancy.context import NoOrganizationContext

    assert Role.objects.count() == 0
    with pytest.raises(NoOrganizationContext):
        Team.objects.create(name="nowhere")
