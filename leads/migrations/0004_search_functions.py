"""Search functions that stay fast and isolated under RLS (docs/decisions/0004).

Each function is SECURITY DEFINER, owned by the NOLOGIN BYPASSRLS search role that
`python -m smartweb.db_bootstrap` creates, with a pinned search_path. It takes the
organization from `smartweb_current_organization_id()` (never from an argument), returns
nothing without one, filters on it explicitly and returns ids only. The query is run by
EXECUTE … USING so that it is planned with the organization and the search text known.
"""

from django.conf import settings
from django.db import migrations

from smartweb.db_bootstrap import SEARCH_ROLE

# Text for ILIKE: the search text is matched literally, wildcards escaped.
LIKE_PATTERN = (
    "'%' || replace(replace(replace(query, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"
)

COMPANY_QUERY = """
SELECT c.id FROM public.leads_company c
 WHERE c.organization_id = $1
   AND (c.search_vector @@ websearch_to_tsquery('simple', $2) OR c.name ILIKE $3)
"""
LEAD_QUERY = """
SELECT l.id FROM public.leads_lead l
 WHERE l.organization_id = $1 AND l.search_vector @@ websearch_to_tsquery('simple', $2)
UNION
SELECT l.id FROM public.leads_lead l
  JOIN public.leads_company c ON c.organization_id = l.organization_id AND c.id = l.company_id
 WHERE c.organization_id = $1 AND l.organization_id = $1
   AND (c.search_vector @@ websearch_to_tsquery('simple', $2) OR c.name ILIKE $3)
"""


def _function(name: str, query: str) -> str:
    body = query.strip().replace("'", "''")
    return f"""
CREATE OR REPLACE FUNCTION {name}(query text) RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    ROWS 50
AS $$
DECLARE
    organization uuid := public.smartweb_current_organization_id();
BEGIN
    IF organization IS NULL OR coalesce(btrim(query), '') = '' THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE '{body}' USING organization, query, {LIKE_PATTERN};
END
$$;
REVOKE ALL ON FUNCTION {name}(text) FROM PUBLIC;
"""


FUNCTIONS = {
    "smartweb_search_companies": (
        _function("smartweb_search_companies", COMPANY_QUERY),
        ["leads_company"],
    ),
    "smartweb_search_leads": (
        _function("smartweb_search_leads", LEAD_QUERY),
        ["leads_lead", "leads_company"],
    ),
}


def create_functions(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [SEARCH_ROLE])
        if cursor.fetchone() is None:
            raise RuntimeError(
                f"The search role {SEARCH_ROLE!r} does not exist. Create it first: "
                "python -m smartweb.db_bootstrap <superuser URL> (see README)."
            )
        cursor.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", [SEARCH_ROLE])
        if not cursor.fetchone()[0]:
            raise RuntimeError(
                f"The migrating role is not a member of {SEARCH_ROLE!r}; run "
                "python -m smartweb.db_bootstrap <superuser URL> again (see README)."
            )
    role = quote(SEARCH_ROLE)
    runtime = quote(settings.DATABASE_RUNTIME_ROLE)
    # A new owner needs CREATE on the schema; it keeps it only while it takes ownership.
    schema_editor.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
    for name, (definition, tables) in FUNCTIONS.items():
        with connection.cursor() as cursor:
            cursor.execute(definition)  # no parameters: its '%' are literal
        schema_editor.execute(f"GRANT SELECT ON {', '.join(tables)} TO {role}")
        schema_editor.execute(f"ALTER FUNCTION {name}(text) OWNER TO {role}")
        schema_editor.execute(f"GRANT EXECUTE ON FUNCTION {name}(text) TO {runtime}")
    schema_editor.execute(f"REVOKE CREATE ON SCHEMA public FROM {role}")


def drop_functions(apps, schema_editor):
    role = schema_editor.connection.ops.quote_name(SEARCH_ROLE)
    for name, (_, tables) in FUNCTIONS.items():
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}(text)")
        schema_editor.execute(f"REVOKE SELECT ON {', '.join(tables)} FROM {role}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0003_lead_score_override")]

    operations = [migrations.RunPython(create_functions, drop_functions)]
