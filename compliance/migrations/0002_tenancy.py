"""Row level security on the compliance tables, and the owner's right to purge the
security log (docs/decisions/0005).

The audit log is append-only for the runtime role (no DELETE grant). Retention needs
its old rows deleted, so the table's owner gets a DELETE policy for the organization
in context, and a SELECT/DELETE policy for rows of no organization (failed logins for
unknown emails), which no organization can see. Both name the owner role only.
"""

from django.db import migrations

from smartweb.tenancy.operations import TenantTable
from smartweb.tenancy.sql import CURRENT_ORGANIZATION_FUNCTION

OWNER_POLICIES = """
CREATE POLICY audit_owner_purge ON audit_logs FOR DELETE TO {owner}
    USING (organization_id = (SELECT {function}()) OR organization_id IS NULL);
CREATE POLICY audit_owner_read_unassigned ON audit_logs FOR SELECT TO {owner}
    USING (organization_id IS NULL);
"""
DROP_OWNER_POLICIES = """
DROP POLICY IF EXISTS audit_owner_purge ON audit_logs;
DROP POLICY IF EXISTS audit_owner_read_unassigned ON audit_logs;
"""


def _audit_log_owner(schema_editor) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableowner FROM pg_tables"
            " WHERE schemaname = current_schema() AND tablename = 'audit_logs'"
        )
        return schema_editor.connection.ops.quote_name(cursor.fetchone()[0])


def add_owner_policies(apps, schema_editor):
    schema_editor.execute(
        OWNER_POLICIES.format(
            owner=_audit_log_owner(schema_editor), function=CURRENT_ORGANIZATION_FUNCTION
        )
    )


def drop_owner_policies(apps, schema_editor):
    schema_editor.execute(DROP_OWNER_POLICIES)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial"), ("accounts", "0002_tenancy")]

    operations = [
        TenantTable("subjectrequest"),
        TenantTable("consentrecord"),
        TenantTable("suppressionentry"),
        TenantTable("historicalsubjectrequest"),
        TenantTable("historicalconsentrecord"),
        migrations.RunPython(add_owner_policies, drop_owner_policies),
    ]
