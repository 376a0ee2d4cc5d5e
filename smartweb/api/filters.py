"""Filters shared by the API's filter sets."""

import copy
import datetime as dt
import re
from collections.abc import Callable

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import EMPTY_VALUES
from django.db.models import Q
from django_filters import rest_framework, utils, widgets
from django_filters.fields import IsoDateTimeField
from django_filters.filters import FilterMethod
from rest_framework import filters as drf_filters
from rest_framework.exceptions import ValidationError

from smartweb import access
from smartweb.rbac import Action

SEARCH_MAX_LENGTH = 200
# The refused terms of an ordering an answer names, and the most of each it repeats.
ORDERING_TERMS_SHOWN = 5
ORDERING_TERM_SHOWN = 100


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


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (a NumberFilter reads `1.5` for an integer column)."""

    field_class = forms.IntegerField


class BooleanWidget(widgets.BooleanWidget):
    """The browsable API's yes/no select, handing the field the text as it was sent."""

    def render(self, name, value, attrs=None, renderer=None):
        return super().render(name, BOOLEANS.get(value, value), attrs, renderer)

    def value_from_datadict(self, data, files, name):
        return data.get(name)


BOOLEANS = {"true": True, "false": False}


class BooleanFormField(forms.NullBooleanField):
    """`true`, `false`, or empty (not filtered), as the schema declares a boolean filter.
    django-filter's widgets also read `1`, `0` and `True`, and anything else (`null`,
    `yes`) as empty: the list is then not filtered, where a 400 is due."""

    widget = BooleanWidget

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value not in BOOLEANS:
            raise forms.ValidationError("Must be true or false.", code="invalid")
        return BOOLEANS[value]


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 date time, read in UTC: Python takes offsets up to ±23:59 and years
    from 1, PostgreSQL refuses an offset past ±15:59 (a server error, where the schema
    says a date time). One that UTC cannot hold is a 400."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None or moment.tzinfo is None:
            return moment
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError as exc:
            raise forms.ValidationError("A date time out of range.", code="invalid") from exc


class InputFieldsMixin:
    """Every boolean and date-time filter, declared or generated from a model field,
    reads its value through the form fields above."""

    FIELD_CLASSES = (
        (django_filters.BooleanFilter, BooleanFormField),
        (django_filters.DateTimeFilter, UTCDateTimeField),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for one in self.filters.values():
            for kind, field_class in self.FIELD_CLASSES:
                if isinstance(one, kind):
                    one.field_class = field_class
                    if kind is django_filters.BooleanFilter:
                        one.extra.pop("widget", None)  # django-filter's reads 1, 0, True
                    vars(one).pop("_field", None)  # a form field built before the swap


class RequestFilters(dict):
    """A filter set's `base_filters`, copied for each request one level deep.

    django-filter deep-copies every filter of the set for each request (its choices,
    labels, lookups and form field settings): ~0.3 ms of a lead list, for 18 filters.
    What a request changes on its copies is their own attributes (`parent`, `model`, a
    chooser's `queryset`, a form field class, InputFieldsMixin's `extra`), so each filter
    and its `extra` are copied and the rest, read only, is shared. A filter that calls a
    method of its set gets its own FilterMethod, bound to the copy."""

    def __deepcopy__(self, memo):
        return {name: _copied(base) for name, base in self.items()}


def _copied(base):
    one = copy.copy(base)
    one.extra = dict(base.extra)
    if isinstance(vars(base).get("filter"), FilterMethod):
        one.filter = FilterMethod(one)
    return one


class RequestFiltersMixin:
    @classmethod
    def get_filters(cls):
        return RequestFilters(super().get_filters())


class GivenFiltersFormMixin:
    # Set by the API's filter backend: the request's form holds the given filters only.
    given_filters_only = False

    @property
    def form(self):
        """With `given_filters_only`, a form of the filters the query string gives a
        value for: each form copies and validates all its fields, ~0.3 ms for a lead
        list's 18 filters where one is given. A filter that reads an empty value (absent
        or blank) filters nothing (every filter skips one), so the rows and the errors are
        the same; a required filter stays, and so does one that reads something from
        nothing (a checkbox reads False)."""
        if "_form" not in vars(self) and self.is_bound and self.given_filters_only:
            form_class = self.get_form_class()
            form = form_class.__new__(form_class)
            form.prefix = self.form_prefix  # for add_prefix; __init__ sets it again
            # BaseForm.__init__ copies `self.base_fields`: the instance's, these.
            form.base_fields = {
                name: field
                for name, field in form_class.base_fields.items()
                if field.required
                or field.widget.value_from_datadict(self.data, {}, form.add_prefix(name))
                not in EMPTY_VALUES
            }
            form.__init__(self.data, prefix=self.form_prefix)
            self._form = form
        return super().form


class GeneratedFilterSet(
    GivenFiltersFormMixin,
    RequestFiltersMixin,
    InputFieldsMixin,
    ScopedChoicesMixin,
    rest_framework.FilterSet,
):
    """The base of the filter sets the API builds from a view's `filterset_fields`."""


class FilterBackend(rest_framework.DjangoFilterBackend):
    filterset_base = GeneratedFilterSet

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        # The view may read what its rows were filtered by (`applied_filters`).
        view.filterset = filterset
        return filterset

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        # Filtering reads the given filters only; the browsable API's form (to_html)
        # still shows them all.
        filterset.given_filters_only = True
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        return filterset.qs


def applied_filters(view) -> dict | None:
    """The filters a list view's rows were filtered by, name -> cleaned value, those left
    empty (which filter nothing) left out; None before its filter set was validated."""
    filterset = getattr(view, "filterset", None)
    cleaned = getattr(getattr(filterset, "form", None), "cleaned_data", None)
    if cleaned is None:
        return None
    return {name: value for name, value in cleaned.items() if value not in EMPTY_VALUES}


class FilterSet(
    GivenFiltersFormMixin,
    RequestFiltersMixin,
    InputFieldsMixin,
    ScopedChoicesMixin,
    django_filters.FilterSet,
):
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


class ChangedFilterSet(FilterSet):
    """`updated_after` and `updated_before`: the rows changed within a time, as a sync
    asks "what changed since" (with `ordering=updated_at`). Each model listing them has
    an index of its live rows by organization and `updated_at`, which serves both."""

    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")


class SearchFilterSet(FilterSet):
    """`?search=`: the rows that `matches(text)` finds. The apps search through
    organization-scoped functions (leads.search), never through a filter that RLS keeps
    from using its index; a page-numbered search is counted with its page
    (smartweb.api.pagination.SearchPaginator)."""

    search = django_filters.CharFilter(method="filter_search", max_length=SEARCH_MAX_LENGTH)
    matches: Callable[[str], Q]

    def filter_search(self, queryset, name, value):
        return queryset.filter(self.matches(value))


class OrderingFilter(drf_filters.OrderingFilter):
    """DRF's `?ordering=`, a field the list is not ordered by refused: a 400 at `ordering`
    naming the fields it is, where DRF drops the term and lists in its default order (a
    client believed the list sorted as asked). A term is one of those fields, descending
    with a leading `-`; several are separated by commas; empty, the default order. The
    schema states the same (ordering_pattern). The order asked for is made total, by the
    list's default order and then the primary key (`tie_broken`): pages of unchanged rows
    neither repeat nor skip one."""

    def get_ordering(self, request, queryset, view):
        given = request.query_params.get(self.ordering_param)
        if not given:
            return self.get_default_ordering(view)
        fields = self.ordered_by(queryset, view, request)
        refused = unordered_terms(given, fields)
        if refused:
            raise ValidationError({self.ordering_param: [ordering_refusal(refused, fields)]})
        return tie_broken(given.split(","), default_order(queryset, view))

    def filter_queryset(self, request, queryset, view):
        """Ordered; and, ordered by a field the view states a condition for
        (`ordering_conditions`), filtered by it: a condition every listed row meets
        already, stated so that the planner may read the field's partial index."""
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        conditions = getattr(view, "ordering_conditions", {})
        for field in {term.lstrip("-") for term in ordering} & conditions.keys():
            queryset = queryset.filter(conditions[field])
        return queryset.order_by(*ordering)

    def ordered_by(self, queryset, view, request) -> list[str]:
        """The fields the list may be ordered by: the view's `ordering_fields`, or DRF's
        default (its serializer's fields)."""
        return [name for name, _ in self.get_valid_fields(queryset, view, {"request": request})]

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        fields = self.ordered_by(view.get_queryset(), view, view.request)
        for parameter in parameters:
            parameter["schema"]["pattern"] = ordering_pattern(fields)
            parameter["description"] = (
                "Order by these fields, separated by commas, each descending with a leading"
                f" `-`: {', '.join(f'`{name}`' for name in fields)}."
            )
        return parameters


def tie_broken(terms: list[str], default: list[str]) -> list[str]:
    """`terms`, then the list's `default` order on the fields they leave out, then the
    primary key in the direction of the last term, unless a term orders by it already.

    Rows equal in the fields asked for (a time stamp, a status, a score shared by
    thousands of rows) then come in one order on every page: PostgreSQL returns ties in
    any order, one that may change with a page's LIMIT and OFFSET, so a row could be
    listed on two pages and another on none. The default order first, not the key alone:
    an index serving it within the field asked for keeps serving the page (the leads by
    status, then by score, from `lead_active_status_score`), where the key alone would
    have every row of the first status sorted."""
    asked = {term.lstrip("-") for term in terms}
    ordered = [*terms, *(term for term in default if term.lstrip("-") not in asked)]
    if not any(term.lstrip("-") in ("pk", "id") for term in ordered):
        ordered.append("-pk" if ordered[-1].startswith("-") else "pk")
    return ordered


def default_order(queryset, view) -> list[str]:
    """The order a list has when none is asked for: its view's, its queryset's own or its
    model's (the terms that name fields)."""
    ordering = getattr(view, "ordering", None) or queryset.query.order_by
    if not ordering:
        ordering = queryset.model._meta.ordering
    return [
        term
        for term in ([ordering] if isinstance(ordering, str) else ordering)
        if isinstance(term, str)
    ]


def unordered_terms(ordering: str, fields) -> list[str]:
    """The terms of an `ordering` (`-lead_score,created_at`) that order by none of
    `fields`: an empty term among others too (an empty ordering has none)."""
    terms = ordering.split(",") if ordering else []
    return [term for term in terms if term.removeprefix("-") not in fields]


def ordering_refusal(refused: list[str], fields) -> str:
    shown = ", ".join(f"“{term[:ORDERING_TERM_SHOWN]}”" for term in refused[:ORDERING_TERMS_SHOWN])
    return (
        f"The list is not ordered by {shown}. It is ordered by {', '.join(fields)}, each"
        " descending with a leading -, several separated by commas."
    )


def ordering_pattern(fields) -> str:
    """The orderings `unordered_terms` finds nothing wrong with, and the empty one."""
    if not fields:
        return "^$"
    term = f"-?({'|'.join(re.escape(name) for name in fields)})"
    return f"^({term}(,{term})*)?$"
