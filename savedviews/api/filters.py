"""`?view=<id>` on the lists of leads, opportunities and tasks, and the saved views
list's own filters."""

from __future__ import annotations

import django_filters
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from savedviews import selectors, vocabulary
from savedviews.models import SavedView, ViewResource
from smartweb.api.filters import FilterSet

VIEW = "view"


class SavedViewQuery(BaseFilterBackend):
    """Put first in a list's filter backends: the saved view's parameters become the
    request's, under those given explicitly (which win), before the other backends
    read them. A view that is not one of this list's the user may open is a 400."""

    def filter_queryset(self, request, queryset, view):
        view_id = request.query_params.get(VIEW)
        if not view_id:
            return queryset
        saved = selectors.view_for(user=request.user, pk=view_id, resource=view.resource)
        if saved is None:
            raise ValidationError({VIEW: ["No saved view of this list has this id."]})
        request._request.GET = vocabulary.merged(saved.query, request.query_params)
        return queryset

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": VIEW,
                "required": False,
                "in": "query",
                "description": "A saved view of this list: its filters, search and ordering"
                " apply; parameters given beside it win.",
                "schema": {"type": "string", "format": "uuid"},
            }
        ]


class SavedViewFilter(FilterSet):
    resource = django_filters.ChoiceFilter(choices=ViewResource.choices)
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Only my own views.")

    class Meta:
        model = SavedView
        fields = ["shared"]

    def filter_mine(self, queryset, name, value):
        user = self.request.user
        return queryset.filter(owner=user) if value else queryset.exclude(owner=user)
