"""Shapes of the notifications API."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import Notification, NotificationSettings
from smartweb.api.serializers import BooleanField, ModelSerializer


class NotificationSerializer(ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "message",
            "target_type",
            "target_id",
            "actor",
            "is_read",
            "read_at",
            "created_at",
        ]
        read_only_fields = fields


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(read_only=True, help_text="How many were marked read.")


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField(read_only=True)


class NotificationSettingsSerializer(ModelSerializer):
    class Meta:
        model = NotificationSettings
        fields = ["digest_enabled", "last_digest_at"]
        read_only_fields = ["last_digest_at"]


class NotificationSettingsUpdateSerializer(serializers.Serializer):
    digest_enabled = BooleanField(help_text="Email me a daily digest of my unread notifications.")
