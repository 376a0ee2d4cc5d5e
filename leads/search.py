"""Full-text and name search of companies, leads and interactions under Row Level Security.

`@@` and `ILIKE` are not LEAKPROOF, so under RLS PostgreSQL evaluates them only after the
policy and never uses the GIN indexes for them: a search in a large organization reads
all of its rows. The SQL functions below (leads migrations 0004 and 0011, owned by the NOLOGIN
BYPASSRLS search role) read the organization from the transaction's context themselves,
filter on it explicitly, and return ids only; the caller's queryset, under RLS and the
tenant manager as usual, then reads the rows. See docs/decisions/0004-search-under-rls.md.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from leads.models import SEARCH_CONFIG

COMPANY_FUNCTION = "smartweb_search_companies"
LEAD_FUNCTION = "smartweb_search_leads"
INTERACTION_FUNCTION = "smartweb_search_interactions"
# Names typed with a mistake (docs/decisions/0021): trigram word similarity.
SIMILAR_COMPANY_FUNCTION = "smartweb_search_similar_companies"
# The interactions function returns the newest matches, at most one more than this.
INTERACTION_MATCHES_LISTED = 1_000
# The back office's substring search (docs/decisions/0056): a word in one of the fields.
COMPANIES_CONTAINING_FUNCTION = "smartweb_match_companies"
LEADS_CONTAINING_FUNCTION = "smartweb_match_leads"
# Their trigram indexes find a word from this many characters on (leads migration 0011).
SUBSTRING_MIN = 3


def _ids(function: str, value: str) -> RawSQL:
    # The function name is one of the constants above; the search text is a parameter.
    return RawSQL(f"SELECT * FROM {function}(%s)", [value])  # noqa: S611


def company_matches(value: str) -> Q:
    """Companies whose search vector matches `value` (websearch syntax) or whose name
    contains it (from three characters on), in the current organization."""
    return Q(pk__in=_ids(COMPANY_FUNCTION, value))


def lead_matches(value: str) -> Q:
    """Leads matching `value` by their own search vector or their company's (as above)."""
    return Q(pk__in=_ids(LEAD_FUNCTION, value))


def companies_containing(word: str) -> RawSQL:
    """Ids of the current organization's companies with `word` in their name, city,
    postal code, phone, email or web domain (any case)."""
    return _ids(COMPANIES_CONTAINING_FUNCTION, word)


def leads_containing(word: str) -> RawSQL:
    """Ids of the current organization's leads with `word` in their contact's name, email
    or phone, or in their company's name, phone, email or web domain (any case)."""
    return _ids(LEADS_CONTAINING_FUNCTION, word)


def similar_companies(value: str) -> RawSQL:
    """Ids of the current organization's companies whose name holds a word similar to
    `value` (a typo, a letter left out: "Plumbng" finds "Ashbrook Plumbing"), the closest
    50; for a filter such as `Q(company_id__in=similar_companies(text))`."""
    return _ids(SIMILAR_COMPANY_FUNCTION, value)


def interaction_matches(value: str) -> Q:
    """Interactions whose subject or content match `value` (websearch syntax).

    The function finds a rare word's few matches through the GIN index; a common word
    matches a large part of a big organization's interactions (a quarter million at 1M
    leads), too many to collect. So the function returns at most the newest
    INTERACTION_MATCHES_LISTED + 1: when there are no more than the limit, those are all
    of them; when there are more, the list filters by the words itself, walking its own
    index in order, where a common word soon fills a page."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {INTERACTION_FUNCTION}(%s)", [value])
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) <= INTERACTION_MATCHES_LISTED:
        return Q(pk__in=ids)
    return Q(search_vector=SearchQuery(value, search_type="websearch", config=SEARCH_CONFIG))
