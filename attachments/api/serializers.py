"""Shapes of the attachments API; `attachments.services` checks and writes."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from attachments.models import RECORD_RESOURCES, Attachment
from attachments.selectors import record_model
from smartweb import access
from smartweb.api.serializers import ModelSerializer, PrimaryKeyRelatedField, Serializer
from smartweb.rbac import Action


class RecordField(PrimaryKeyRelatedField):
    """A UUID reference to a record the requesting user may read (the service then asks
    whether they may change it)."""

    def __init__(self, field: str, **kwargs):
        self.record_field = field
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def get_queryset(self):
        model = record_model(self.record_field)
        return access.visible(self.context["request"].user, Action.READ, model.objects.all())


class AttachmentSerializer(ModelSerializer):
    record_type = serializers.ChoiceField(
        choices=list(RECORD_RESOURCES), source="record_field", read_only=True
    )
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            *RECORD_RESOURCES,
            "record_type",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_download_url(self, attachment) -> str:
        return reverse("attachment-download", args=[attachment.pk])


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class NonEmptyFileField(serializers.FileField):
    """A file of one byte at least, as the schema says (DRF's own says any binary)."""

    def __init__(self, **kwargs):
        super().__init__(allow_empty_file=False, **kwargs)


class AttachmentUploadSerializer(Serializer):
    """multipart/form-data: the file and exactly one record it belongs to."""

    lead = RecordField("lead")
    company = RecordField("company")
    opportunity = RecordField("opportunity")
    proposal = RecordField("proposal")
    contract = RecordField("contract")
    file = NonEmptyFileField(
        use_url=False,
        help_text="PDF, PNG, JPEG, GIF, WebP, plain text, CSV, DOCX or XLSX, checked on its "
        "content; the name's extension must match.",
    )

    def validate(self, attrs):
        chosen = [field for field in RECORD_RESOURCES if attrs.get(field) is not None]
        if len(chosen) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": [f"Give exactly one of {', '.join(RECORD_RESOURCES)}."]}
            )
        attrs["record"] = attrs.pop(chosen[0])
        return attrs
