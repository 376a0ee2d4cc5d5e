"""Every table with an organization_id is under RLS, FORCEd, with a policy; every foreign
key between tenant tables is also composite; the runtime role cannot bypass any of it."""

import pytest
from django.apps import apps
from django.db import connection

from smartweb.models import TenantModel

pytestmark = pytest.mark.django_db

TENANT_TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p')
ORDER BY 1
"""

# Single-column foreign keys from one tenant table to another, with whether a composite
# (organization_id, column) -> (organization_id, id) key covers the same reference.
UNCOVERED_FOREIGN_KEYS = """
WITH tenant AS (
    SELECT attrelid AS oid FROM pg_attribute
    WHERE attname = 'organization_id' AND NOT attisdropped
), fk AS (
    SELECT con.conrelid, con.confrelid, con.conkey, con.conname
    FROM pg_constraint con
    WHERE con.contype = 'f'
      AND con.conrelid IN (SELECT oid FROM tenant)
      AND con.confrelid IN (SELECT oid FROM tenant)
      AND array_length(con.conkey, 1) = 1
)
SELECT fk.conrelid::regclass::text, fk.conname FROM fk
WHERE NOT EXISTS (
    SELECT 1 FROM pg_constraint comp
    WHERE comp.contype = 'f' AND comp.conrelid = fk.conrelid AND comp.confrelid = fk.confrelid
      AND array_length(comp.conkey, 1) = 2 AND fk.conkey[1] = ANY (comp.conkey)
)
"""


def test_every_tenant_table_has_forced_rls_and_a_policy():
    with connection.cursor() as cursor:
        cursor.execute(TENANT_TABLES)
        rows = cursor.fetchall()
    assert rows, "no tenant tables found"
    missing = [
        name for name, enabled, forced, policies in rows if not (enabled and forced and policies)
    ]
    assert missing == []


def test_every_tenant_model_table_carries_organization_id():
    with connection.cursor() as cursor:
        cursor.execute(TENANT_TABLES)
        tables = {row[0] for row in cursor.fetchall()}
    models = [m for m in apps.get_models() if issubclass(m, TenantModel)]
    history = [m.history.model for m in models if hasattr(m, "history")]
    expected = {m._meta.db_table for m in [*models, *history]}
    assert expected - tables == set()


def test_foreign_keys_between_tenant_tables_are_composite():
    with connection.cursor() as cursor:
        cursor.execute(UNCOVERED_FOREIGN_KEYS)
        assert cursor.fetchall() == []


def test_guardian_grants_are_tenant_tables():
    from django.conf import settings

    for label in (settings.GUARDIAN_USER_OBJ_PERMS_MODEL, settings.GUARDIAN_GROUP_OBJ_PERMS_MODEL):
        model = apps.get_model(label)
        assert model._meta.get_field("organization").null is False


def test_runtime_role_cannot_bypass_rls():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
            " WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND pg_has_role(current_user, c.relowner, 'USAGE')"
        )
        assert cursor.fetchone()[0] == 0, "the runtime role owns tables"


def test_no_view_bypasses_rls():
    """Views must be security_invoker, or they run with their owner's rights."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')"
            " AND NOT coalesce('security_invoker=on' = ANY (c.reloptions), false)"
            # extension views (pg_stat_statements) read no tenant data
            " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid"
            " AND d.deptype = 'e')"
        )
        assert cursor.fetchall() == []
