"""Row level security and composite tenant keys on the accounts tables."""

from django.conf import settings
from django.db import migrations

from smartweb.tenancy.operations import TenantTable
from smartweb.tenancy.sql import (
    CURRENT_ORGANIZATION_FUNCTION,
    CURRENT_USER_FUNCTION,
    TENANT_PREDICATE,
)

# A user sees their own memberships in every organization, to choose one.
MEMBERSHIP_USING = f"{TENANT_PREDICATE} OR user_id = (SELECT {CURRENT_USER_FUNCTION}())"

# The audit log: read within the organization; insert for it or for no organization
# (a failed login for an unknown email); never updated or deleted by the application.
AUDIT_POLICIES = f"""
ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_read ON audit_logs FOR SELECT
    USING (organization_id = (SELECT {CURRENT_ORGANIZATION_FUNCTION}()));
CREATE POLICY audit_append ON audit_logs FOR INSERT
    WITH CHECK (organization_id IS NULL
                OR organization_id = (SELECT {CURRENT_ORGANIZATION_FUNCTION}()));
"""
AUDIT_POLICIES_REVERSE = """
DROP POLICY IF EXISTS audit_read ON audit_logs;
DROP POLICY IF EXISTS audit_append ON audit_logs;
ALTER TABLE audit_logs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_logs DISABLE ROW LEVEL SECURITY;
"""


def revoke_audit_changes(apps, schema_editor):
    role = schema_editor.connection.ops.quote_name(settings.DATABASE_RUNTIME_ROLE)
    schema_editor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_logs FROM {role}")


def grant_audit_changes(apps, schema_editor):
    role = schema_editor.connection.ops.quote_name(settings.DATABASE_RUNTIME_ROLE)
    schema_editor.execute(f"GRANT UPDATE, DELETE ON audit_logs TO {role}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        TenantTable("team"),
        TenantTable("role"),
        TenantTable("rolepermission"),
        TenantTable("membership", using=MEMBERSHIP_USING),
        TenantTable("apitoken"),
        TenantTable("userobjectgrant"),
        TenantTable("groupobjectgrant"),
        TenantTable("historicalteam"),
        TenantTable("historicalrole"),
        TenantTable("historicalmembership"),
        migrations.RunSQL(AUDIT_POLICIES, reverse_sql=AUDIT_POLICIES_REVERSE),
        migrations.RunPython(revoke_audit_changes, grant_audit_changes),
    ]
