"""Filter sets share their form class, unless a filter's choices come from a queryset."""

from __future__ import annotations

import django_filters
import pytest

from leads.models import Company, Tag
from smartweb.api.filters import FilterSet


class ByCity(FilterSet):
    city = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Company
        fields = ["country"]


class ByTag(FilterSet):
    tag = django_filters.ModelChoiceFilter(queryset=Tag.objects.none())

    class Meta:
        model = Company
        fields = ["country"]


def test_the_form_class_is_built_once_and_each_form_has_its_own_fields():
    first, second = ByCity({"city": "Leeds"}), ByCity({"city": "York"})
    assert first.get_form_class() is second.get_form_class()
    first.form.fields["city"].label = "changed"
    assert second.form.fields["city"].label != "changed"
    assert first.form.is_valid() and second.form.is_valid()
    assert (first.form.cleaned_data["city"], second.form.cleaned_data["city"]) == ("Leeds", "York")


@pytest.mark.django_db
def test_a_filter_with_a_queryset_gets_a_new_form_class_each_time():
    assert ByTag({}).get_form_class() is not ByTag({}).get_form_class()
