"""Shapes of the compliance API; the services validate and write."""

from __future__ import annotations

from rest_framework import serializers

from compliance.choices import ConsentPurpose, ConsentSource, RequestKind
from compliance.models import ConsentRecord, SubjectRequest
from smartweb.api.serializers import BooleanField, ModelSerializer, Serializer, TextField


class ConsentRecordSerializer(ModelSerializer):
    recorded_by = serializers.EmailField(source="recorded_by.email", read_only=True, default=None)

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "lead",
            "purpose",
            "granted",
            "recorded_at",
            "source",
            "evidence",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


class ConsentRecordCreateSerializer(Serializer):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = BooleanField()
    source = serializers.ChoiceField(choices=ConsentSource.choices)
    evidence = serializers.JSONField(required=False, default=dict)
    recorded_at = serializers.DateTimeField(required=False)


class SubjectRequestSerializer(ModelSerializer):
    class Meta:
        model = SubjectRequest
        fields = [
            "id",
            "kind",
            "status",
            "lead",
            "lead_reference",
            "received_at",
            "due_at",
            "completed_at",
            "notes",
            "result",
            "created_at",
        ]
        read_only_fields = fields


class SubjectRequestCreateSerializer(Serializer):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    lead = serializers.UUIDField()
    notes = TextField(required=False, allow_blank=True, default="")
    received_at = serializers.DateTimeField(required=False)


class ErasureSerializer(Serializer):
    subject_request = serializers.UUIDField(
        required=False, help_text="An open erasure request for this lead, to fulfil."
    )
