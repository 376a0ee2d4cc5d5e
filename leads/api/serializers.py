"""Input and output shapes of the leads API. Writes go through `leads.services`.

Every reference in input (company, lead, assigned user, tags) is looked up among the
rows the requesting user may see in the current organization: another organization's
id is "does not exist", exactly like an id that exists nowhere.
"""

from __future__ import annotations

from collections.abc import Callable

from rest_framework import serializers

from accounts.api.serializers import UserSummarySerializer
from leads import normalize, selectors, status_notes
from leads.choices import LeadStatus
from leads.models import Company, Interaction, Lead, LeadEnrichment, Tag
from leads.services import allowed_transitions
from smartweb import access
from smartweb.api.serializers import (
    BooleanField,
    EmailField,
    IntegerField,
    ListedSummarySerializer,
    ModelSerializer,
    PrimaryKeyRelatedField,
    Serializer,
    TextField,
)
from smartweb.rbac import Action


class ScopedRelatedField(PrimaryKeyRelatedField):
    """A UUID reference resolved in a queryset built per request (never at import time,
    when no organization is active and the tenant managers return nothing)."""

    def __init__(self, *, queryset_for: Callable, **kwargs):
        self.queryset_for = queryset_for
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.queryset_for(self.context["request"])


def visible_companies(request):
    return access.visible(request.user, Action.READ, Company.objects.all())


def visible_leads(request):
    return access.visible(request.user, Action.READ, Lead.objects.select_related("company"))


def organization_tags(request):
    return Tag.objects.all()


def organization_members(request):
    return selectors.organization_members()


# --- output ------------------------------------------------------------------------


class LeadTagSummarySerializer(ListedSummarySerializer):
    class Meta:
        model = Tag
        fields = list(selectors.LISTED_TAG_FIELDS)  # what the lead's `listed_tags` column holds
        read_only_fields = fields


class LeadCompanySerializer(ListedSummarySerializer):
    class Meta:
        model = Company
        fields = list(selectors.LISTED_COMPANY_FIELDS)  # what the lead's `listed_company` holds
        read_only_fields = fields


class CompanySerializer(ModelSerializer):
    """Companies, in and out. Phone, email and website are normalized by the service."""

    # The stored website (300 characters) holds the scheme the service adds to a host name.
    website = TextField(
        max_length=300 - len("https://"),
        allow_blank=True,
        required=False,
        validators=[normalize.website_form],
    )
    email = EmailField(max_length=254, allow_blank=True, required=False)
    phone = TextField(max_length=40, allow_blank=True, required=False)

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "business_type",
            "size",
            "phone",
            "email",
            "website",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "online_presence",
            "is_customer",
            "customer_since",
            "metadata",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at", "deleted_at"]


class LeadSerializer(ModelSerializer):
    company = LeadCompanySerializer(read_only=True, source="company_summary")
    assigned_to = UserSummarySerializer(read_only=True, allow_null=True, source="assignee_summary")
    tags = LeadTagSummarySerializer(many=True, read_only=True, source="tag_list")
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "company",
            "contact_name",
            "contact_title",
            "contact_email",
            "contact_phone",
            "status",
            "allowed_transitions",
            "source",
            "lead_score",
            "score_override",
            "score_breakdown",
            "scored_at",
            "assigned_to",
            "tags",
            "last_contacted_at",
            "next_follow_up_at",
            "status_changed_at",
            "consent_to_contact",
            "consent_updated_at",
            "do_not_contact",
            "notes",
            "merged_into",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = fields

    def get_allowed_transitions(self, lead) -> list[str]:
        return allowed_transitions(lead.status)


class LeadListSerializer(LeadSerializer):
    """A lead as lists show it: its score without the score's breakdown, which the lead's
    own page and every write's response carry (docs/decisions/0007)."""

    class Meta(LeadSerializer.Meta):
        fields = [name for name in LeadSerializer.Meta.fields if name != "score_breakdown"]
        read_only_fields = fields


class InteractionSerializer(ModelSerializer):
    created_by = UserSummarySerializer(read_only=True, allow_null=True, source="creator_summary")

    def to_representation(self, instance):
        # The subject as the admin shows it: an older status note by the statuses' labels.
        data = super().to_representation(instance)
        data["subject"] = status_notes.subject_as_read(instance)
        return data

    class Meta:
        model = Interaction
        fields = [
            "id",
            "lead",
            "type",
            "direction",
            "subject",
            "content",
            "occurred_at",
            "duration_seconds",
            "outcome",
            "ai_analysis",
            "created_by",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = fields


class EnrichmentSerializer(ModelSerializer):
    class Meta:
        model = LeadEnrichment
        fields = [
            "id",
            "lead",
            "provider",
            "data",
            "confidence",
            "fetched_at",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = fields


class TagSerializer(ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "color", "description", "created_at", "updated_at", "deleted_at"]
        read_only_fields = ["id", "created_at", "updated_at", "deleted_at"]


class DuplicateSerializer(Serializer):
    lead = LeadSerializer()
    matched_on = serializers.ListField(child=TextField())


class DuplicateGroupSerializer(Serializer):
    leads = LeadSerializer(many=True)
    matched_on = serializers.ListField(child=TextField())


class DuplicateReportSerializer(Serializer):
    groups = DuplicateGroupSerializer(many=True)
    truncated = BooleanField()


# --- input -------------------------------------------------------------------------


class CompanyInputSerializer(CompanySerializer):
    """A company described inside a lead's input (new, or changes to the lead's own)."""

    class Meta(CompanySerializer.Meta):
        fields = [f for f in CompanySerializer.Meta.fields if f not in ("id",)]


class LeadWriteSerializer(Serializer):
    contact_name = TextField(max_length=200, allow_blank=True, required=False)
    contact_title = TextField(max_length=100, allow_blank=True, required=False)
    contact_email = EmailField(max_length=254, allow_blank=True, required=False)
    contact_phone = TextField(max_length=40, allow_blank=True, required=False)
    source = serializers.ChoiceField(choices=Lead._meta.get_field("source").choices, required=False)
    assigned_to = ScopedRelatedField(
        queryset_for=organization_members, allow_null=True, required=False
    )
    next_follow_up_at = serializers.DateTimeField(allow_null=True, required=False)
    consent_to_contact = BooleanField(required=False)
    do_not_contact = BooleanField(required=False)
    notes = TextField(allow_blank=True, required=False)
    score_override = IntegerField(min_value=0, max_value=100, allow_null=True, required=False)
    tags = ScopedRelatedField(queryset_for=organization_tags, many=True, required=False)

    LEAD_FIELDS = (
        "contact_name",
        "contact_title",
        "contact_email",
        "contact_phone",
        "source",
        "assigned_to",
        "next_follow_up_at",
        "consent_to_contact",
        "do_not_contact",
        "notes",
        "score_override",
    )

    def lead_data(self) -> dict:
        return {k: v for k, v in self.validated_data.items() if k in self.LEAD_FIELDS}


class LeadCreateSerializer(LeadWriteSerializer):
    """Either `company_id` (an existing company without a lead) or `company` (a new one)."""

    company_id = ScopedRelatedField(queryset_for=visible_companies, required=False)
    company = CompanyInputSerializer(required=False)
    allow_duplicate = BooleanField(default=False)

    def validate(self, attrs):
        if ("company_id" in attrs) == ("company" in attrs):
            raise serializers.ValidationError(
                {"company": "Give either company_id (existing) or company (new)."}
            )
        return attrs


class LeadUpdateSerializer(LeadWriteSerializer):
    """Changes to a lead; `company` changes its company; `status` follows the workflow."""

    company = CompanyInputSerializer(required=False)
    status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)
    status_reason = TextField(allow_blank=True, required=False, max_length=2000)

    LEAD_FIELDS = (*LeadWriteSerializer.LEAD_FIELDS, "status")


class ReasonSerializer(Serializer):
    reason = TextField(allow_blank=True, required=False, max_length=2000, default="")


class ChangeStatusSerializer(ReasonSerializer):
    status = serializers.ChoiceField(choices=LeadStatus.choices)


class MergeSerializer(Serializer):
    duplicates = ScopedRelatedField(queryset_for=visible_leads, many=True, allow_empty=False)


class InteractionWriteSerializer(ModelSerializer):
    class Meta:
        model = Interaction
        fields = [
            "type",
            "direction",
            "subject",
            "content",
            "occurred_at",
            "duration_seconds",
            "outcome",
            "ai_analysis",
        ]
        extra_kwargs = {"occurred_at": {"required": False}}


class InteractionCreateSerializer(InteractionWriteSerializer):
    lead = ScopedRelatedField(queryset_for=visible_leads)

    class Meta(InteractionWriteSerializer.Meta):
        fields = ["lead", *InteractionWriteSerializer.Meta.fields]


class EnrichmentWriteSerializer(ModelSerializer):
    apply = BooleanField(
        default=True, write_only=True, help_text="Copy known keys onto the company."
    )

    class Meta:
        model = LeadEnrichment
        fields = ["provider", "data", "confidence", "fetched_at", "apply"]
        extra_kwargs = {"fetched_at": {"required": False}}


class EnrichmentCreateSerializer(EnrichmentWriteSerializer):
    lead = ScopedRelatedField(queryset_for=visible_leads)

    class Meta(EnrichmentWriteSerializer.Meta):
        fields = ["lead", *EnrichmentWriteSerializer.Meta.fields]
