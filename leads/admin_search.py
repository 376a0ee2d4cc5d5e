"""The admin's search of companies, leads and deals: Django's own (`search_fields`,
substrings), and also a phone number however it is written; for companies and leads, a
name typed with a mistake.

Similar names come from the organization-scoped search function (leads.search,
docs/decisions/0021): under RLS a similarity filter in the list's own query would compare
the text with every company name of the organization.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q, QuerySet

from leads import search
from leads.phone_search import companies_with, ids_of, leads_with, typed_phones


class PhoneSearchMixin:
    """Adds to the list's matches the rows whose normalized phone is the term's, within the
    rows the list's search offers at all (the user's scope; autocomplete: live rows)."""

    # The list's rows with one of some phone numbers (leads.phone_search).
    with_phones: Callable[[set[str]], list[QuerySet]]

    def phone_matches(self, phones: set[str]) -> Q:
        return Q(pk__in=ids_of(self.with_phones(phones)))

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if phones := typed_phones(search_term):
            searchable, _ = super().get_search_results(request, queryset, "")
            found = found | searchable.filter(self.phone_matches(phones))
        return found, may_have_duplicates


class TolerantSearchMixin(PhoneSearchMixin):
    """And when nothing matches, the rows whose name is similar: a near name is offered
    when the exact search finds nothing, never mixed into its answer."""

    similar_field = "pk"

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and not found.exists():
            searchable, _ = super().get_search_results(request, queryset, "")
            similar = {f"{self.similar_field}__in": search.similar_companies(term)}
            found = searchable.filter(**similar)
        return found, may_have_duplicates


class CompanySearchMixin(TolerantSearchMixin):
    with_phones = staticmethod(companies_with)


class LeadSearchMixin(TolerantSearchMixin):
    with_phones = staticmethod(leads_with)
    similar_field = "company_id"
