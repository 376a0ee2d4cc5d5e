"""Shapes of the notifications API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications import records
from notifications.models import Notification, NotificationSettings
from smartweb.api.serializers import BooleanField, ModelSerializer, Serializer


class NotificationListSerializer(serializers.ListSerializer):
    """A page of notifications, their records' current names read at once."""

    def to_representation(self, data):
        rows = list(data.all() if hasattr(data, "all") else data)
        self._context["record_names"] = records.current_names(self.context["request"].user, rows)
        return super().to_representation(rows)


class NotificationSerializer(ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)
    record_name = serializers.SerializerMethodField(
        help_text="The record's name now (the message keeps the name it had); null once"
        " the record is deleted or beyond the recipient's reach."
    )

    class Meta:
        model = Notification
        list_serializer_class = NotificationListSerializer
        fields = [
            "id",
            "kind",
            "message",
            "target_type",
            "target_id",
            "record_name",
            "actor",
            "is_read",
            "read_at",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_record_name(self, notification) -> str | None:
        names = self.context.get("record_names")
        if names is None:
            names = records.current_names(self.context["request"].user, [notification])
        return names.get(notification.target_id)


class MarkedSerializer(Serializer):
    marked = serializers.IntegerField(read_only=True, help_text="How many were marked read.")


class UnreadCountSerializer(Serializer):
    unread = serializers.IntegerField(read_only=True)


class NotificationSettingsSerializer(ModelSerializer):
    class Meta:
        model = NotificationSettings
        fields = ["digest_enabled", "last_digest_at"]
        read_only_fields = ["last_digest_at"]


class NotificationSettingsUpdateSerializer(Serializer):
    digest_enabled = BooleanField(help_text="Email me a daily digest of my unread notifications.")
