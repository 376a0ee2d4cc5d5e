"""The one question the single sign-on check asks on every request of a session, in one
statement: which organizations of the user's active memberships have an active provider
that requires single sign-on, with the emails it speaks for.

`smartweb_sso_requirements(member)`: SECURITY DEFINER, owned by the search role (like
the search functions, docs/decisions/0004) with SELECT on the two tables it reads and a
pinned search_path; it returns organization ids and the providers' email lists, nothing
else (docs/decisions/0033). Read through each organization's context, the same answer
took two transactions and ten statements for a member of one organization.
"""

from django.conf import settings
from django.db import migrations

from smartweb.db_bootstrap import SEARCH_ROLE

NAME = "smartweb_sso_requirements"
FUNCTION = f"""
CREATE OR REPLACE FUNCTION {NAME}(member uuid)
    RETURNS TABLE(organization_id uuid, email_domains varchar[], required_emails varchar[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT p.organization_id, p.email_domains, p.required_emails
      FROM public.accounts_membership m
      JOIN public.sso_identityprovider p ON p.organization_id = m.organization_id
     WHERE m.user_id = member AND m.is_active AND m.deleted_at IS NULL
       AND p.is_active AND p.sso_required
$$;
REVOKE ALL ON FUNCTION {NAME}(uuid) FROM PUBLIC;
"""
TABLES = ("accounts_membership", "sso_identityprovider")


def forwards(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    role, runtime = quote(SEARCH_ROLE), quote(settings.DATABASE_RUNTIME_ROLE)
    # A new owner needs CREATE on the schema; it keeps it only while it takes ownership.
    schema_editor.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        schema_editor.execute(f"GRANT SELECT ON {table} TO {role}")
    schema_editor.execute(f"ALTER FUNCTION {NAME}(uuid) OWNER TO {role}")
    schema_editor.execute(f"GRANT EXECUTE ON FUNCTION {NAME}(uuid) TO {runtime}")
    schema_editor.execute(f"REVOKE CREATE ON SCHEMA public FROM {role}")


def backwards(apps, schema_editor):
    role = schema_editor.connection.ops.quote_name(SEARCH_ROLE)
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {NAME}(uuid)")
    for table in TABLES:
        schema_editor.execute(f"REVOKE SELECT ON {table} FROM {role}")


class Migration(migrations.Migration):
    dependencies = [("sso", "0002_tenancy"), ("accounts", "0014_apitoken_sso_authorization")]

    operations = [migrations.RunPython(forwards, backwards)]
