"""Shapes of the email API; `mailing.services` checks and writes."""

from __future__ import annotations

from rest_framework import serializers

from mailing.inbound import BOUNCE, REPLY, Inbound
from mailing.models import EmailMessage, EmailTemplate
from smartweb.api.serializers import (
    ListField,
    ModelSerializer,
    PrimaryKeyRelatedField,
    Serializer,
    TextField,
)


class EmailTemplateSerializer(ModelSerializer):
    class Meta:
        model = EmailTemplate
        fields = ["id", "name", "subject", "body", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "subject": {"help_text": "Fields: {{ lead.contact_name }}, {{ sender.name }}…"},
            "body": {"help_text": "Fields as in the subject; an unknown one is refused."},
        }


class EmailMessageSerializer(ModelSerializer):
    class Meta:
        model = EmailMessage
        fields = [
            "id",
            "lead",
            "interaction",
            "attachment",
            "template",
            "sent_by",
            "direction",
            "kind",
            "status",
            "message_id",
            "in_reply_to",
            "from_email",
            "to_email",
            "reply_to",
            "subject",
            "body",
            "attempts",
            "sent_at",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields


class SendEmailSerializer(Serializer):
    """A template, or a subject and body of one's own (with the same fields)."""

    template = PrimaryKeyRelatedField(
        queryset=EmailTemplate.objects.all(), required=False, allow_null=True, default=None
    )
    subject = TextField(required=False, allow_blank=True, default="", max_length=200)
    body = TextField(required=False, allow_blank=True, default="", max_length=20_000)

    def get_fields(self):
        fields = super().get_fields()
        # Built per request: the class-level queryset was made outside any organization.
        fields["template"].queryset = EmailTemplate.objects.all()
        return fields

    def validate(self, attrs):
        # Either, never both: a text given beside a template would be dropped unsent.
        if attrs["template"] is not None:
            given = [name for name in ("subject", "body") if attrs[name]]
            if given:
                raise serializers.ValidationError(
                    {name: "Give a template, or a subject and body: not both." for name in given}
                )
        return attrs


class InboundSerializer(serializers.Serializer):
    """The provider's delivery, normalized: a reply (`event` "reply") or a bounce."""

    event = serializers.ChoiceField(choices=[REPLY, BOUNCE])
    message_id = TextField(max_length=255)
    from_email = TextField(required=False, allow_blank=True, default="", max_length=320)
    to_email = TextField(required=False, allow_blank=True, default="", max_length=320)
    subject = TextField(required=False, allow_blank=True, default="", max_length=998)
    text = TextField(
        required=False, allow_blank=True, default="", max_length=200_000, trim_whitespace=False
    )
    in_reply_to = TextField(required=False, allow_blank=True, default="", max_length=255)
    references = ListField(
        child=TextField(max_length=255), required=False, default=list, max_length=100
    )
    bounced_address = TextField(required=False, allow_blank=True, default="", max_length=320)

    def validate(self, attrs):
        if attrs["event"] == REPLY and not attrs["from_email"]:
            raise serializers.ValidationError({"from_email": "A reply names its sender."})
        return attrs

    def report(self) -> Inbound:
        return Inbound(**self.validated_data)


class InboundResultSerializer(Serializer):
    outcome = serializers.ChoiceField(
        choices=["filed", "duplicate", "unmatched", "suppressed"],
        help_text="filed: a reply kept on its lead; unmatched: a reply from no known lead, not"
        " kept; suppressed: a bounce listed its address; duplicate: a repeat (the same reply,"
        " or a bounce of an address listed already), nothing written.",
    )
    message = serializers.UUIDField(allow_null=True)
    lead = serializers.UUIDField(allow_null=True)


class SecretSerializer(Serializer):
    secret = serializers.CharField(help_text="Shown this once; stored encrypted.")
    webhook_url = serializers.CharField()
