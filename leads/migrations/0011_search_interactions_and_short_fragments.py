"""Search functions, second version (docs/decisions/0004, "Amended").

- `smartweb_search_interactions(text)`: the newest 1,001 interactions matching by full
  text at most, like the others (SECURITY DEFINER, owned by the search role, the
  organization from the context only). Under RLS the `@@` filter of the interactions list
  read the organization's every interaction (1.5 s at 1M leads for a word that matches
  nothing).
- Companies and leads: a company name is matched by substring only from three characters
  on. A shorter fragment has no trigram to look up, so the trigram index read every name
  of the organization (0.4-0.5 s at 1M leads); full-text matching of whole words is kept
  for short words. The query text compares the length itself, so the planner, which sees
  the search text (EXECUTE … USING), leaves the substring branch out for short ones.
"""

import importlib

from django.conf import settings
from django.db import migrations

from smartweb.db_bootstrap import SEARCH_ROLE

FIRST = importlib.import_module("leads.migrations.0004_search_functions")

# A name substring (trigram) is looked up from this many characters of search text on.
SUBSTRING_MIN = 3
NAME_LIKE = f"(char_length(btrim($2)) >= {SUBSTRING_MIN} AND c.name ILIKE $3)"

COMPANY_QUERY = f"""
SELECT c.id FROM public.leads_company c
 WHERE c.organization_id = $1
   AND (c.search_vector @@ websearch_to_tsquery('simple', $2) OR {NAME_LIKE})
"""
LEAD_QUERY = f"""
SELECT l.id FROM public.leads_lead l
 WHERE l.organization_id = $1 AND l.search_vector @@ websearch_to_tsquery('simple', $2)
UNION
SELECT l.id FROM public.leads_lead l
  JOIN public.leads_company c ON c.organization_id = l.organization_id AND c.id = l.company_id
 WHERE c.organization_id = $1 AND l.organization_id = $1
   AND (c.search_vector @@ websearch_to_tsquery('simple', $2) OR {NAME_LIKE})
"""
# The newest 1,001 matches at most: with the limit the planner either looks the words up
# (rare) or walks the newest interactions until enough match (common); leads.search
# filters in the list itself when there are more (INTERACTION_MATCHES_LISTED + 1).
INTERACTION_QUERY = """
SELECT i.id FROM public.leads_interaction i
 WHERE i.organization_id = $1 AND i.deleted_at IS NULL
   AND i.search_vector @@ websearch_to_tsquery('simple', $2)
 ORDER BY i.created_at DESC LIMIT 1001
"""

FUNCTIONS = {
    "smartweb_search_companies": (COMPANY_QUERY, ["leads_company"]),
    "smartweb_search_leads": (LEAD_QUERY, ["leads_lead", "leads_company"]),
    "smartweb_search_interactions": (INTERACTION_QUERY, ["leads_interaction"]),
}


FIRST_VERSIONS = {
    "smartweb_search_companies": (FIRST.COMPANY_QUERY, ["leads_company"]),
    "smartweb_search_leads": (FIRST.LEAD_QUERY, ["leads_lead", "leads_company"]),
}


def _create(schema_editor, functions) -> None:
    quote = schema_editor.connection.ops.quote_name
    role, runtime = quote(SEARCH_ROLE), quote(settings.DATABASE_RUNTIME_ROLE)
    # A new owner needs CREATE on the schema; it keeps it only while it takes ownership.
    schema_editor.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
    for name, (query, tables) in functions.items():
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FIRST._function(name, query))  # no parameters: its '%' are literal
        schema_editor.execute(f"GRANT SELECT ON {', '.join(tables)} TO {role}")
        schema_editor.execute(f"ALTER FUNCTION {name}(text) OWNER TO {role}")
        schema_editor.execute(f"GRANT EXECUTE ON FUNCTION {name}(text) TO {runtime}")
    schema_editor.execute(f"REVOKE CREATE ON SCHEMA public FROM {role}")


def forwards(apps, schema_editor):
    _create(schema_editor, FUNCTIONS)


def backwards(apps, schema_editor):
    role = schema_editor.connection.ops.quote_name(SEARCH_ROLE)
    schema_editor.execute("DROP FUNCTION IF EXISTS smartweb_search_interactions(text)")
    schema_editor.execute(f"REVOKE SELECT ON leads_interaction FROM {role}")
    _create(schema_editor, FIRST_VERSIONS)


class Migration(migrations.Migration):
    dependencies = [("leads", "0010_interaction_org_search_index")]

    operations = [migrations.RunPython(forwards, backwards)]
