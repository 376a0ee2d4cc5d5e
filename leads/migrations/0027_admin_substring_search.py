"""The back office's substring search of companies and leads through organization-scoped
functions and trigram indexes (docs/decisions/0056).

The admin lists search as Django does: each word of the text in one of the list's fields,
as a substring, in any case. Under RLS `ILIKE` is not LEAKPROOF, so those filters read
every company and lead of the organization, joined: 0.4 s (companies) and 1.0 s (leads,
twice: the count and the rows) for the largest organization at 1M leads. As for the
other searches (docs/decisions/0004), a SECURITY DEFINER function owned by the search
role reads the organization from the context, filters on it and returns ids:

- `smartweb_match_companies(word)`: companies with the word in their name, city, postal
  code, phone, email or web domain;
- `smartweb_match_leads(word)`: leads with it in their contact's name, email or phone,
  or in their company's name, phone, email or web domain.

Each table gets one organization-first trigram index over its searched fields joined
into one text (`COMPANY_TEXT`, `LEAD_TEXT`), which finds the candidates; each candidate
is then checked field by field, so a word is never matched across two fields. A word
shorter than three characters has no trigram: the function then reads the organization's
rows and checks them field by field, with the same answer as Django's filters.
"""

import importlib

from django.db import migrations

SECOND = importlib.import_module("leads.migrations.0011_search_interactions_and_short_fragments")

COMPANY_FIELDS = ("name", "city", "postal_code", "phone", "email", "website_domain")
# Of the company, a lead is found by these (the lead list's search fields).
LEAD_COMPANY_FIELDS = ("name", "phone", "email", "website_domain")
LEAD_FIELDS = ("contact_name", "contact_email", "contact_phone")


def _text(fields: tuple[str, ...], alias: str = "") -> str:
    # Every field is NOT NULL; `||` of texts is immutable, as an index expression must be.
    prefix = f"{alias}." if alias else ""
    return "(" + " || ' ' || ".join(f"{prefix}{name}" for name in fields) + ")"


def _any_holds(alias: str, fields: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"{alias}.{name} ILIKE $3" for name in fields) + ")"


def _candidates(text: str) -> str:
    # A word of three characters or more is looked up in the trigram index; a shorter one
    # has no trigram, and the index would be read whole (1.3 s at 1M leads): its rows are
    # read by organization and checked field by field. The planner sees the word's length
    # (EXECUTE … USING) and keeps one branch.
    return f"(char_length(btrim($2)) < {SECOND.SUBSTRING_MIN} OR {text} ILIKE $3)"


COMPANY_TEXT = _text(COMPANY_FIELDS, "c")
LEAD_TEXT = _text(LEAD_FIELDS, "l")

COMPANY_QUERY = f"""
SELECT c.id FROM public.leads_company c
 WHERE c.organization_id = $1 AND {_candidates(COMPANY_TEXT)}
   AND {_any_holds("c", COMPANY_FIELDS)}
"""
LEAD_QUERY = f"""
SELECT l.id FROM public.leads_lead l
 WHERE l.organization_id = $1 AND {_candidates(LEAD_TEXT)}
   AND {_any_holds("l", LEAD_FIELDS)}
UNION
SELECT l.id FROM public.leads_lead l
  JOIN public.leads_company c ON c.organization_id = l.organization_id AND c.id = l.company_id
 WHERE c.organization_id = $1 AND l.organization_id = $1 AND {_candidates(COMPANY_TEXT)}
   AND {_any_holds("c", LEAD_COMPANY_FIELDS)}
"""

FUNCTIONS = {
    "smartweb_match_companies": (COMPANY_QUERY, ["leads_company"]),
    "smartweb_match_leads": (LEAD_QUERY, ["leads_lead", "leads_company"]),
}

INDEXES = {
    "company_org_fields_trgm": ("leads_company", _text(COMPANY_FIELDS)),
    "lead_org_contact_trgm": ("leads_lead", _text(LEAD_FIELDS)),
}


def forwards(apps, schema_editor):
    for name, (table, text) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX {name} ON {table} USING gin (organization_id, {text} gin_trgm_ops)"
        )
    SECOND._create(schema_editor, FUNCTIONS)


def backwards(apps, schema_editor):
    for name in FUNCTIONS:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}(text)")
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0026_lead_listed_company")]

    operations = [migrations.RunPython(forwards, backwards)]
