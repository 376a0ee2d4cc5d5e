"""Shapes of the webhooks API; `webhooks.services` validates and writes. The secret is
write-only: answered once, when the endpoint is created without one given."""

from __future__ import annotations

from rest_framework import serializers

from smartweb.api.serializers import (
    BooleanField,
    ListField,
    ModelSerializer,
    Serializer,
    TextField,
)
from webhooks.choices import EventType
from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.services import SECRET_MIN_LENGTH, URL_MAX_LENGTH


class EndpointSerializer(ModelSerializer):
    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "consecutive_failures",
            "disabled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CreatedEndpointSerializer(EndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret: shown this once, stored encrypted."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointWriteSerializer(Serializer):
    url = TextField(max_length=URL_MAX_LENGTH, help_text="http(s) URL on the internet.")
    event_types = ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        min_length=1,
        max_length=len(EventType.choices),
    )
    description = TextField(max_length=200, required=False, allow_blank=True)
    is_active = BooleanField(required=False)
    secret = TextField(
        write_only=True,
        required=False,
        min_length=SECRET_MIN_LENGTH,
        max_length=200,
        help_text="The HMAC-SHA256 signing secret; a new one is made when left out.",
    )


class DeliveryAttemptSerializer(ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "status_code", "response_ms", "error", "succeeded", "created_at"]
        read_only_fields = fields


class DeliverySerializer(ModelSerializer):
    event_type = serializers.CharField(source="event.event_type", read_only=True)
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "event_type",
            "endpoint",
            "status",
            "attempts",
            "next_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_response_ms",
            "last_error",
            "attempt_log",
            "created_at",
        ]
        read_only_fields = fields
