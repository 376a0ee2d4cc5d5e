"""`GET /api/v1/<resource>/{id}/history/`: a record's changes, newest first.

One action serves every viewset whose model keeps history (`HistoryMixin`); the record
is found exactly as a read of it is (another organization's is 404, a user without read
permission gets 403). Each entry says when, who, what kind of change, where from
(client address, user agent, request id) and each changed field's old and new value.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action

from smartweb.api.pagination import StandardPagination

# Fields every save touches or that never change: they say nothing about the change.
_UNINFORMATIVE = frozenset({"id", "organization", "updated_at"})


class ChangeType:
    CREATED = "created"
    CHANGED = "changed"
    DELETED = "deleted"
    CHOICES = (CREATED, CHANGED, DELETED)


@extend_schema_field(OpenApiTypes.ANY)
class AnyValueField(serializers.Field):
    def to_representation(self, value):
        return value


class FieldChangeSerializer(serializers.Serializer):
    old = AnyValueField(allow_null=True)
    new = AnyValueField(allow_null=True)


class HistoryUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class HistoryEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The history entry's id.")
    at = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=ChangeType.CHOICES)
    user = HistoryUserSerializer(allow_null=True, help_text="Who made the change (none: a job).")
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField(allow_blank=True)
    request_id = serializers.CharField(
        allow_blank=True, help_text="The request's X-Request-ID, or job:… / command:…"
    )
    changes = serializers.DictField(child=FieldChangeSerializer(), help_text="field → old, new")


def has_history(model) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


def _plain(value: Any) -> Any:
    """A value as the API writes it: exact decimals and ids as text, times in ISO 8601."""
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


def _values(record) -> dict[str, Any]:
    """The record's values; generated columns (search vectors, weighted values) are left
    out: they follow the fields they are computed from."""
    return {
        field.name: _plain(getattr(record, field.attname))
        for field in record.tracked_fields
        if field.name not in _UNINFORMATIVE and not isinstance(field, models.GeneratedField)
    }


def _entry(record, previous) -> dict[str, Any]:
    new = _values(record)
    if previous is None:
        changes = {name: {"old": None, "new": v} for name, v in new.items() if v not in (None, "")}
    else:
        old = _values(previous)
        changes = {
            name: {"old": old.get(name), "new": v} for name, v in new.items() if old.get(name) != v
        }
    kind = {"+": ChangeType.CREATED, "-": ChangeType.DELETED}.get(record.history_type)
    if kind is None:
        soft_deleted = changes.get("deleted_at", {}).get("old") is None and new.get("deleted_at")
        kind = ChangeType.DELETED if soft_deleted else ChangeType.CHANGED
    user = record.history_user
    return {
        "id": record.history_id,
        "at": record.history_date,
        "type": kind,
        "user": {"id": user.pk, "email": user.email} if user is not None else None,
        "ip_address": record.history_ip_address,
        "user_agent": record.history_user_agent,
        "request_id": record.history_request_id,
        "changes": changes,
    }


def history_entries(instance, records: list) -> list[dict[str, Any]]:
    """Entries for `records` (one record's history, newest first, consecutive), each
    compared with the one before it."""
    if not records:
        return []
    oldest = records[-1]
    before = (
        instance.history.filter(history_date__lt=oldest.history_date)
        .order_by("-history_date")
        .select_related("history_user")
        .first()
    )
    previous = [*records[1:], before]
    return [_entry(record, prior) for record, prior in zip(records, previous, strict=True)]


HISTORY_SCHEMA = extend_schema(
    responses=HistoryEntrySerializer(many=True), summary="The record's history, newest first"
)


def history_page(view, instance):
    """The paged history response of `instance` (the view's paginator)."""
    records = instance.history.select_related("history_user").order_by("-history_date")
    page = view.paginate_queryset(records)
    return view.get_paginated_response(
        HistoryEntrySerializer(history_entries(instance, list(page)), many=True).data
    )


class HistoryMixin:
    """Adds `history` to a tenant viewset whose model keeps history (and only then)."""

    @classmethod
    def get_extra_actions(cls):
        actions = super().get_extra_actions()
        if cls.queryset is not None and has_history(cls.queryset.model):
            return actions
        return [extra for extra in actions if extra.__name__ != "history"]

    @HISTORY_SCHEMA
    @action(
        detail=True,
        methods=["get"],
        pagination_class=StandardPagination,
        filter_backends=[],
        serializer_class=HistoryEntrySerializer,
    )
    def history(self, request, *args, **kwargs):
        return history_page(self, self.get_object())


class RecordHistoryMixin:
    """The same for a plain detail view (not a viewset): put it before the view whose
    record it shows, and route `…/{id}/history/` to the combination."""

    pagination_class = StandardPagination
    filter_backends: list = []
    serializer_class = HistoryEntrySerializer

    @HISTORY_SCHEMA
    def get(self, request, *args, **kwargs):
        return history_page(self, self.get_object())
