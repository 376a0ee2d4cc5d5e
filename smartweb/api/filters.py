"""Filters shared by the API's filter sets."""

from collections.abc import Callable

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q
from django_filters import rest_framework

from smartweb import access
from smartweb.rbac import Action

SEARCH_MAX_LENGTH = 200


class MultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    """`?status=new&status=contacted`, without django-filter's default DISTINCT.

    The values are of one column of the listed table, so no row can repeat; a DISTINCT
    would stop the page from being read in index order and make the page count hash
    every matching row (measured in bench/README.md).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


class ScopedChoicesMixin:
    """A filter's choices are what the requesting user may read. Users are global rows:
    a choice of users (django-filter builds it from the user table) offers the current
    organization's members only, never every account. Other rows are the organization's
    (their default managers are) within the user's read scope: a rep is not offered the
    organization's roles, nor another rep's leads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user_model = get_user_model()
        user = getattr(self.request, "user", None)
        for one in self.filters.values():
            queryset = getattr(one, "queryset", None)
            model = getattr(queryset, "model", None)
            if model is user_model:
                # Local import: the platform layer reads the accounts app only here.
                from accounts.selectors import member_users

                one.queryset = member_users()
            elif getattr(model, "rbac_resource", None):
                rows = queryset.all()
                readable = rows.none() if user is None else access.visible(user, Action.READ, rows)
                one.queryset = readable


class GeneratedFilterSet(ScopedChoicesMixin, rest_framework.FilterSet):
    """The base of the filter sets the API builds from a view's `filterset_fields`."""


class FilterBackend(rest_framework.DjangoFilterBackend):
    filterset_base = GeneratedFilterSet


class FilterSet(ScopedChoicesMixin, django_filters.FilterSet):
    """django-filter's FilterSet, its form class built once per filter set instead of on
    every request (~1 ms of a list request: a form field and a label per filter).

    Sharing it is safe: a form class holds field definitions only, which every form deep
    copies, and these filters' fields hold nothing of a request or an organization. A
    filter with a queryset (a model choice, whose choices are one organization's rows)
    would, so a filter set that has one gets a new form class each time as before."""

    def get_form_class(self):
        cls = type(self)
        form_class = cls.__dict__.get("_shared_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            if not any(getattr(f, "queryset", None) is not None for f in self.filters.values()):
                cls._shared_form_class = form_class
        return form_class


class SearchFilterSet(FilterSet):
    """`?search=`: the rows that `matches(text)` finds. The apps search through
    organization-scoped functions (leads.search), never through a filter that RLS keeps
    from using its index; a page-numbered search is counted with its page
    (smartweb.api.pagination.SearchPaginator)."""

    search = django_filters.CharFilter(method="filter_search", max_length=SEARCH_MAX_LENGTH)
    matches: Callable[[str], Q]

    def filter_search(self, queryset, name, value):
        return queryset.filter(self.matches(value))
