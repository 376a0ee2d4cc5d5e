"""The admin's search of companies and leads: Django's own (`search_fields`, substrings),
and also a name typed with a mistake and a phone number however it is written.

Similar names come from the organization-scoped search function (leads.search,
docs/decisions/0021): under RLS a similarity filter in the list's own query would compare
the text with every company name of the organization.
"""

from __future__ import annotations

import functools
import operator

from django.core.exceptions import ValidationError
from django.db.models import Q

from leads import search, services
from leads.normalize import normalize_phone


def _phone(term: str) -> str:
    """The term as a stored (normalized) phone number, or "" when it is not one."""
    if sum(ch.isdigit() for ch in term) < 6:  # a house number or a year is not a phone
        return ""
    code = services.country_code(services.organization_settings())
    try:
        return normalize_phone(term, country_code=code)
    except ValidationError:
        return ""


class TolerantSearchMixin:
    """Adds to the list's matches the rows whose normalized phone is the term's, and when
    nothing matches, the rows whose name is similar: a near name is offered when the
    exact search finds nothing, never mixed into its answer."""

    phone_fields: tuple[str, ...] = ()
    similar_field = "pk"

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return found, may_have_duplicates
        # The rows the parents' search offers at all (autocomplete: live rows only).
        searchable, _ = super().get_search_results(request, queryset, "")
        if phone := _phone(term):
            found = found | searchable.filter(
                functools.reduce(operator.or_, (Q(**{f: phone}) for f in self.phone_fields))
            )
        if not found.exists():
            similar = {f"{self.similar_field}__in": search.similar_companies(term)}
            found = searchable.filter(**similar)
        return found, may_have_duplicates


class CompanySearchMixin(TolerantSearchMixin):
    phone_fields = ("phone_normalized",)


class LeadSearchMixin(TolerantSearchMixin):
    phone_fields = ("contact_phone_normalized", "company__phone_normalized")
    similar_field = "company_id"
