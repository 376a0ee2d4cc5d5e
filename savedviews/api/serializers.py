"""Shapes of the saved views API; `savedviews.services` validates and writes."""

from __future__ import annotations

from rest_framework import serializers

from savedviews.json_schemas import MAX_PARAMETERS, MAX_VALUE_LENGTH, MAX_VALUES
from savedviews.models import SavedView, ViewResource
from smartweb.api.serializers import (
    BooleanField,
    DictField,
    ListField,
    ModelSerializer,
    Serializer,
    TextField,
)

QUERY_HELP = (
    "Query-string parameters of the list's API, each with its values, e.g. "
    '`{"status": ["new", "contacted"], "search": ["roofer"], "ordering": ["-lead_score"]}`: '
    "its filters, `search` and `ordering`. A parameter takes one value but a filter that "
    "takes several: `ordering` names several fields in one, separated by commas."
)


def query_field(**kwargs) -> serializers.DictField:
    values = ListField(
        child=TextField(max_length=MAX_VALUE_LENGTH, allow_blank=True),
        min_length=1,
        max_length=MAX_VALUES,
    )
    return DictField(child=values, max_keys=MAX_PARAMETERS, help_text=QUERY_HELP, **kwargs)


class SavedViewSerializer(ModelSerializer):
    query = query_field(read_only=True)
    owner_email = serializers.EmailField(source="owner.email", read_only=True)

    class Meta:
        model = SavedView
        fields = [
            "id",
            "name",
            "resource",
            "shared",
            "query",
            "owner",
            "owner_email",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SavedViewWriteSerializer(Serializer):
    name = TextField(max_length=80)
    resource = serializers.ChoiceField(choices=ViewResource.choices)
    shared = BooleanField(required=False, default=False, help_text="Offered to your team.")
    query = query_field(required=False, default=dict)
