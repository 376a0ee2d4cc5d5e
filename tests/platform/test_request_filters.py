"""Each request filters through its own copies of the filter set's filters (copied one
level deep, smartweb.api.filters.RequestFilters): nothing a request sets on them reaches
the class or another request."""

import pytest
from django.http import QueryDict
from django_filters.filters import FilterMethod

from leads.api.filters import LeadFilter
from leads.models import Company, Lead
from smartweb.api.filters import GeneratedFilterSet

pytestmark = pytest.mark.django_db


def test_each_filter_set_has_its_own_filters_bound_to_it():
    first = LeadFilter(QueryDict("search=boiler&do_not_contact=true"), Lead.objects.none())
    second = LeadFilter(QueryDict(), Lead.objects.none())
    assert first.is_valid() and second.is_valid()
    methods = 0
    for name, base in LeadFilter.base_filters.items():
        mine, theirs = first.filters[name], second.filters[name]
        assert mine is not base and mine is not theirs and mine.extra is not base.extra
        assert (mine.parent, theirs.parent) == (first, second)
        assert "parent" not in vars(base)
        if isinstance(mine.filter, FilterMethod):
            methods += 1
            assert mine.filter.f is mine and theirs.filter.f is theirs
    assert methods  # `search` calls a method of its set


class CompanyFlags(GeneratedFilterSet):
    """A set as the API generates one from a view's `filterset_fields`."""

    class Meta:
        model = Company
        fields = ["is_customer"]


def test_what_a_request_changes_on_its_filters_stays_with_it():
    """The boolean filters' form field swap (InputFieldsMixin) drops django-filter's own
    widget from the copy's settings; the class keeps its own."""
    base = CompanyFlags.base_filters["is_customer"]
    assert "widget" in base.extra
    swapped = CompanyFlags(QueryDict("is_customer=false"), Company.objects.none())
    assert swapped.is_valid(), swapped.errors
    assert "widget" not in swapped.filters["is_customer"].extra
    assert "widget" in base.extra
    refused = CompanyFlags(QueryDict("is_customer=1"), Company.objects.none())
    assert not refused.is_valid()  # our field, not django-filter's widget, read it
