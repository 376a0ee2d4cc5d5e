"""Filters of the compliance API's lists."""

from __future__ import annotations

import django_filters

from compliance.choices import RequestStatus
from compliance.models import SubjectRequest
from smartweb.api.filters import FilterSet


class SubjectRequestFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)

    class Meta:
        model = SubjectRequest
        fields = ["status"]
