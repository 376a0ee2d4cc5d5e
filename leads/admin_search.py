"""The admin's search of companies, leads and deals: Django's own rules (each word of the
text in one of the list's fields, as a substring), and also a phone number however it is
written; for companies and leads, a name typed with a mistake.

Companies, leads and the lists that find rows by their lead match each word through the
organization-scoped search functions (`WordSearchMixin`, docs/decisions/0056): under RLS
Django's `icontains` filters read and join every row of the organization.

Similar names come from the organization-scoped search function (leads.search,
docs/decisions/0021): under RLS a similarity filter in the list's own query would compare
the text with every company name of the organization.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from leads import search
from leads.phone_search import companies_with, ids_of, leads_with, typed_phones


def search_words(text: str) -> list[str]:
    """The words of a search as Django's admin splits them: by spaces, a quoted phrase as
    one word. An empty one (`""`) is left out: as a substring it is in every row."""
    words = []
    for bit in smart_split(text):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            words.append(bit)
    return words


class WordSearchMixin:
    """Django's search (every word of the text matches the row), each word of three
    characters or more matched by `word_matches` instead of `icontains` filters over
    `search_fields`, which stay the fields the list names as searched (Django's checks and
    the autocomplete need them). A shorter word has no trigram to look up: Django's own
    filters match it, as before."""

    def word_matches(self, word: str) -> Q:
        raise NotImplementedError

    def get_search_results(self, request, queryset, search_term):
        # The rows the list's search offers at all (autocomplete: live rows it may attach).
        queryset, may_have_duplicates = super().get_search_results(request, queryset, "")
        for word in search_words(search_term):
            if len(word.strip()) >= search.SUBSTRING_MIN:
                queryset = queryset.filter(self.word_matches(word))
                continue
            queryset, duplicates = super().get_search_results(request, queryset, word)
            may_have_duplicates |= duplicates
        return queryset, may_have_duplicates


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


class CompanySearchMixin(TolerantSearchMixin, WordSearchMixin):
    with_phones = staticmethod(companies_with)

    def word_matches(self, word: str) -> Q:
        return Q(pk__in=search.companies_containing(word))


class LeadSearchMixin(TolerantSearchMixin, WordSearchMixin):
    with_phones = staticmethod(leads_with)
    similar_field = "company_id"

    def word_matches(self, word: str) -> Q:
        return Q(pk__in=search.leads_containing(word))


class ByLeadSearchMixin(WordSearchMixin):
    """A list of rows of a lead (`lead`): a word matches the rows whose lead it finds
    (`leads_containing`) or those `own_matches` finds among the rows themselves."""

    def own_matches(self, word: str) -> Q:
        raise NotImplementedError

    def word_matches(self, word: str) -> Q:
        return self.own_matches(word) | Q(lead_id__in=search.leads_containing(word))
