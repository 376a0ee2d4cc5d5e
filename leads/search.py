"""Full-text and name search of companies, leads and interactions under Row Level Security.

`@@` and `ILIKE` are not LEAKPROOF, so under RLS PostgreSQL evaluates them only after the
policy and never uses the GIN indexes for them: a search in a large organization reads
all of its rows. The SQL functions below (leads migrations 0004 and 0011, owned by the NOLOGIN
BYPASSRLS search role) read the organization from the transaction's context themselves,
filter on it explicitly, and return ids only; the caller's queryset, under RLS and the
tenant manager as usual, then reads the rows. See docs/decisions/0004-search-under-rls.md.
"""

from __future__ import annotations

from django.db.models.expressions import RawSQL

COMPANY_FUNCTION = "smartweb_search_companies"
LEAD_FUNCTION = "smartweb_search_leads"
INTERACTION_FUNCTION = "smartweb_search_interactions"


def _ids(function: str, value: str) -> RawSQL:
    # The function name is one of the constants above; the search text is a parameter.
    return RawSQL(f"SELECT * FROM {function}(%s)", [value])  # noqa: S611


def matching_company_ids(value: str) -> RawSQL:
    """Companies whose search vector matches `value` (websearch syntax) or whose name
    contains it (from three characters on), in the current organization: use as
    `pk__in=`."""
    return _ids(COMPANY_FUNCTION, value)


def matching_lead_ids(value: str) -> RawSQL:
    """Leads matching `value` by their own search vector or their company's (as above)."""
    return _ids(LEAD_FUNCTION, value)


def matching_interaction_ids(value: str) -> RawSQL:
    """Interactions whose subject or content match `value` (websearch syntax)."""
    return _ids(INTERACTION_FUNCTION, value)
