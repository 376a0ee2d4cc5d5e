"""What a saved view of each list may say: the query-string parameters of that list in
the API (its filter set's filters, `search`, `ordering`), read from the list's viewset,
so a filter added there can be saved at once. Paging is no part of a view.

The viewsets are named by path and imported on first use: they import the apps' models
and filters, which import nothing of this app.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import django_filters
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.module_loading import import_string
from rest_framework import filters as drf_filters

from savedviews.models import SavedView, ViewResource
from smartweb import json_schema
from smartweb.api.filters import ordering_refusal, unordered_terms

VIEWSETS = {
    ViewResource.LEADS: "leads.api.views.LeadViewSet",
    ViewResource.OPPORTUNITIES: "crm.api.views.OpportunityViewSet",
    ViewResource.TASKS: "crm.api.views.TaskViewSet",
}
SEARCH, ORDERING = "search", "ordering"
# Filters that take several values (`?status=new&status=contacted`, `?tags=a,b`).
MULTIPLE = (django_filters.MultipleChoiceFilter, django_filters.BaseInFilter)
# Why a parameter given several values is refused, where "takes one value" says too little.
SEVERAL_REFUSED = {ORDERING: "takes one value: name several fields in it, separated by commas."}


@dataclass(frozen=True)
class ListVocabulary:
    resource: str
    filterset_class: type
    ordering_fields: tuple[str, ...]

    @property
    def model(self):
        return self.filterset_class._meta.model

    @property
    def filters(self) -> dict:
        return self.filterset_class.base_filters

    def parameters(self) -> set[str]:
        return {*self.filters, SEARCH, ORDERING}

    def takes_several(self, name: str) -> bool:
        return isinstance(self.filters.get(name), MULTIPLE)


@functools.cache
def vocabulary(resource: str) -> ListVocabulary:
    viewset = import_string(VIEWSETS[ViewResource(resource)])
    backends = viewset.filter_backends
    searchable = any(issubclass(b, drf_filters.SearchFilter) for b in backends)
    filterset_class = viewset.filterset_class
    if not searchable and SEARCH not in filterset_class.base_filters:
        raise LookupError(f"The {resource} list has no search.")
    return ListVocabulary(resource, filterset_class, tuple(viewset.ordering_fields))


def as_query_dict(query: Mapping[str, list[str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, values in query.items():
        data.setlist(name, list(values))
    return data


def clean_query(resource: str, query) -> dict[str, list[str]]:
    """The query, checked: its declared shape (bounded, no NUL), parameters the list
    knows, and values its filters accept. A ValidationError keyed `query` otherwise."""
    json_schema.validate(SavedView, "query", query)
    words = vocabulary(resource)
    problems = []
    for name, values in query.items():
        if name not in words.parameters():
            problems.append(f"{name}: not a parameter of the {resource} list.")
        elif len(values) > 1 and not words.takes_several(name):
            # As the API takes a parameter once (ADR 0055): the list applied the last.
            problems.append(f"{name}: {SEVERAL_REFUSED.get(name, 'takes one value.')}")
    # The list's own rule (smartweb.api.filters.OrderingFilter), which the view's use meets.
    ordering = ",".join(query.get(ORDERING, []))
    refused = unordered_terms(ordering, words.ordering_fields)
    if refused:
        problems.append(f"ordering: {ordering_refusal(refused, words.ordering_fields)}")
    filterset = words.filterset_class(
        data=as_query_dict(query), queryset=words.model._default_manager.none(), request=None
    )
    if not filterset.is_valid():
        for name, messages in filterset.errors.items():
            problems.extend(f"{name}: {message}" for message in messages)
    if problems:
        raise ValidationError({"query": problems})
    return {name: list(query[name]) for name in sorted(query)}


def merged(query: Mapping[str, list[str]], explicit: QueryDict) -> QueryDict:
    """The saved query under the parameters given explicitly, which win."""
    data = explicit.copy()
    for name, values in query.items():
        if name not in explicit:
            data.setlist(name, list(values))
    data._mutable = False
    return data
