"""A search function for names typed with a mistake (docs/decisions/0021).

`smartweb_search_similar_companies(text)`: the ids of the current organization's companies
whose name holds a word similar to the text (pg_trgm's `<%`, word similarity at least
`pg_trgm.word_similarity_threshold`, 0.6 by default), the 50 closest. Like the other search
functions (docs/decisions/0004) it is SECURITY DEFINER, owned by the search role, takes the
organization from the context only and filters on it, so that the organization-first
trigram index `company_org_name_trgm` finds the names; under RLS the operator, not
LEAKPROOF, would be checked against every company of the organization.
"""

import importlib

from django.db import migrations

SECOND = importlib.import_module("leads.migrations.0011_search_interactions_and_short_fragments")

NAME = "smartweb_search_similar_companies"
# From three characters on, like the substring search: a shorter text has no trigram.
QUERY = f"""
SELECT c.id FROM public.leads_company c
 WHERE c.organization_id = $1 AND char_length(btrim($2)) >= {SECOND.SUBSTRING_MIN}
   AND $2 <% c.name
 ORDER BY $2 <<-> c.name LIMIT 50
"""


def forwards(apps, schema_editor):
    SECOND._create(schema_editor, {NAME: (QUERY, ["leads_company"])})


def backwards(apps, schema_editor):
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {NAME}(text)")


class Migration(migrations.Migration):
    dependencies = [("leads", "0016_history_origin")]

    operations = [migrations.RunPython(forwards, backwards)]
