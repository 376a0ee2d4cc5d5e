"""Row level security on the lead-capture forms and their history, and the one question
the public endpoint may ask before it knows the organization.

`smartweb_lead_form_organization(key)`: the organization of the active, undeleted form
with that key, or NULL. SECURITY DEFINER, owned by the search role (like the search
functions, docs/decisions/0004) with SELECT on the forms table only, with a pinned
search_path; it returns an organization id and nothing else (docs/decisions/0029).
"""

from django.conf import settings
from django.db import migrations

from smartweb.db_bootstrap import SEARCH_ROLE
from smartweb.tenancy.operations import TenantTable

NAME = "smartweb_lead_form_organization"
FUNCTION = f"""
CREATE OR REPLACE FUNCTION {NAME}(key text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT f.organization_id FROM public.leads_leadform f
     WHERE f.public_key = key AND f.is_active AND f.deleted_at IS NULL
$$;
REVOKE ALL ON FUNCTION {NAME}(text) FROM PUBLIC;
"""


def forwards(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    role, runtime = quote(SEARCH_ROLE), quote(settings.DATABASE_RUNTIME_ROLE)
    # A new owner needs CREATE on the schema; it keeps it only while it takes ownership.
    schema_editor.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
    schema_editor.execute(FUNCTION)
    schema_editor.execute(f"GRANT SELECT ON leads_leadform TO {role}")
    schema_editor.execute(f"ALTER FUNCTION {NAME}(text) OWNER TO {role}")
    schema_editor.execute(f"GRANT EXECUTE ON FUNCTION {NAME}(text) TO {runtime}")
    schema_editor.execute(f"REVOKE CREATE ON SCHEMA public FROM {role}")


def backwards(apps, schema_editor):
    role = schema_editor.connection.ops.quote_name(SEARCH_ROLE)
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {NAME}(text)")
    schema_editor.execute(f"REVOKE SELECT ON leads_leadform FROM {role}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0018_lead_form"), ("accounts", "0013_lead_forms_resource")]

    operations = [
        TenantTable("leadform"),
        TenantTable("historicalleadform"),
        migrations.RunPython(forwards, backwards),
    ]
