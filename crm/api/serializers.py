"""Input and output shapes of the CRM API. Writes go through `crm.services`.

Every reference in input (lead, pipeline, stage, opportunity, owner, assignee) is looked
up among the rows the requesting user may read in the current organization: another
organization's id answers "does not exist", exactly like an id that exists nowhere.
Money is a decimal string with two places; negative or non-numeric amounts are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from rest_framework import serializers

from accounts.api.serializers import UserSummarySerializer
from crm import bounds, close_reason, pricing
from crm.choices import ContractStatus
from crm.models import (
    MONEY,
    PERCENT,
    AICall,
    Campaign,
    Contract,
    Opportunity,
    Pipeline,
    PipelineStage,
    Proposal,
    ProposalLineItem,
    Task,
)
from crm.selectors import active_members
from crm.services import LINE_FIELDS, validate_lead_filter
from leads.models import Lead
from smartweb import access
from smartweb.api.serializers import (
    BooleanField,
    EmailField,
    IntegerField,
    ListField,
    ModelSerializer,
    PrimaryKeyRelatedField,
    Serializer,
    StoredDecimalField,
    TextField,
)
from smartweb.rbac import Action

MAX_LINES = 200


class VisibleRelatedField(PrimaryKeyRelatedField):
    """A UUID reference to a row of `model` the requesting user may read. The queryset
    is built per request: at import time no organization is active."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return access.visible(self.context["request"].user, Action.READ, self.model.objects.all())


class MemberField(PrimaryKeyRelatedField):
    """A UUID reference to an active member of the current organization."""

    def get_queryset(self):
        return active_members()


def money_field(**kwargs) -> serializers.DecimalField:
    return StoredDecimalField(**MONEY, min_value=Decimal("0"), **kwargs)


def percent_field(**kwargs) -> serializers.DecimalField:
    return StoredDecimalField(**PERCENT, min_value=Decimal("0"), max_value=Decimal("100"), **kwargs)


# --- pipelines ------------------------------------------------------------------------


class PipelineStageSerializer(ModelSerializer):
    pipeline = VisibleRelatedField(Pipeline)
    probability = percent_field(required=False)

    class Meta:
        model = PipelineStage
        fields = [
            "id",
            "pipeline",
            "name",
            "position",
            "probability",
            "is_won",
            "is_lost",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class StageInputSerializer(Serializer):
    name = TextField(max_length=80)
    probability = percent_field()
    is_won = BooleanField(default=False)
    is_lost = BooleanField(default=False)


class PipelineSerializer(ModelSerializer):
    stages = serializers.SerializerMethodField()

    class Meta:
        model = Pipeline
        fields = ["id", "name", "description", "is_default", "stages", "created_at", "updated_at"]
        read_only_fields = ["id", "stages", "created_at", "updated_at"]

    def get_stages(self, pipeline) -> list[dict]:
        return [
            {
                "id": str(stage.pk),
                "name": stage.name,
                "position": stage.position,
                "probability": str(stage.probability),
                "is_won": stage.is_won,
                "is_lost": stage.is_lost,
            }
            for stage in pipeline.stages.all()
        ]


# The stages a new pipeline is given at most (each is a column of its board).
MAX_STAGES = 50


class PipelineCreateSerializer(Serializer):
    name = TextField(max_length=120)
    description = TextField(required=False, allow_blank=True, default="")
    is_default = BooleanField(default=False)
    stages = StageInputSerializer(many=True, required=False, max_length=MAX_STAGES)


# --- opportunities --------------------------------------------------------------------


class OpportunitySerializer(ModelSerializer):
    owner = UserSummarySerializer(read_only=True, allow_null=True, source="owner_summary")
    weighted_value = StoredDecimalField(**MONEY, read_only=True)
    lead_name = TextField(read_only=True)
    stage_name = TextField(read_only=True)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "lead",
            "lead_name",
            "pipeline",
            "stage",
            "stage_name",
            "name",
            "value",
            "currency",
            "probability",
            "weighted_value",
            "owner",
            "expected_close_date",
            "status",
            "lost_reason",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OpportunityConvertSerializer(Serializer):
    """Convert a qualified lead into an opportunity."""

    lead = VisibleRelatedField(Lead)
    pipeline = VisibleRelatedField(Pipeline, required=False)
    name = TextField(max_length=200, required=False, allow_blank=True, default="")
    value = money_field(default=Decimal("0"))
    currency = TextField(max_length=3, required=False, allow_blank=True, default="")
    owner = MemberField(required=False, allow_null=True)
    expected_close_date = serializers.DateField(required=False, allow_null=True)


class OpportunityUpdateSerializer(Serializer):
    name = TextField(max_length=200)
    value = money_field()
    currency = TextField(max_length=3)
    probability = percent_field()
    owner = MemberField(allow_null=True)
    expected_close_date = serializers.DateField(allow_null=True)


class MoveStageSerializer(Serializer):
    stage = VisibleRelatedField(PipelineStage)
    probability = percent_field(required=False, allow_null=True)
    won_reason = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=close_reason.MAX_LENGTH["won"],
        help_text="Why it was won: required to move into the won stage. Kept as the change"
        " reason of the move in the opportunity's history.",
    )
    lost_reason = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=close_reason.MAX_LENGTH["lost"],
        help_text="Why it was lost: required to move into the lost stage.",
    )
    reopen = BooleanField(default=False)

    def validate(self, attrs):
        """A won or lost stage needs its reason, as the board and the deal page ask it; the
        other reason is not kept."""
        outcome = close_reason.outcome_of(attrs["stage"])
        if not outcome:
            return attrs
        reason = attrs[close_reason.argument(outcome)]
        problem = close_reason.refusal(outcome, reason)
        if problem:
            raise serializers.ValidationError({close_reason.argument(outcome): [problem]})
        return {**attrs, **close_reason.move_arguments(outcome, reason)}


# --- proposals ------------------------------------------------------------------------


class LineItemSerializer(ModelSerializer):
    class Meta:
        model = ProposalLineItem
        fields = ["id", *LINE_FIELDS]
        read_only_fields = fields


class ProposalLineItemSerializer(LineItemSerializer):
    class Meta(LineItemSerializer.Meta):
        fields = ["proposal", *LineItemSerializer.Meta.fields, "created_at", "updated_at"]
        read_only_fields = fields


class LineInputSerializer(Serializer):
    description = TextField(max_length=500)
    quantity = StoredDecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    unit_price = money_field()
    discount_percent = percent_field(default=Decimal("0"))
    tax_rate = percent_field(default=Decimal("0"))
    total = money_field(
        required=False, help_text="Optional: refused if the line adds up otherwise."
    )

    def validate(self, attrs):
        # A PATCH skips the required fields of nested rows, but a line is always given whole.
        missing = [name for name in ("description", "quantity", "unit_price") if name not in attrs]
        if missing:
            required = self.fields["description"].error_messages["required"]
            raise serializers.ValidationError({name: [required] for name in missing})
        return attrs

    def to_line(self, data: dict) -> pricing.LineInput:
        # A partial update (PATCH) skips the defaults of nested fields: LineInput has them.
        optional = {k: data[k] for k in ("discount_percent", "tax_rate") if k in data}
        return pricing.LineInput(
            description=data["description"],
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            expected_total=data.get("total"),
            **optional,
        )


class ProposalSerializer(ModelSerializer):
    line_items = LineItemSerializer(many=True, read_only=True, source="line_item_list")

    class Meta:
        model = Proposal
        fields = [
            "id",
            "opportunity",
            "number",
            "title",
            "status",
            "currency",
            "valid_until",
            "notes",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "line_items",
            "sent_at",
            "viewed_at",
            "accepted_at",
            "rejected_at",
            "rejection_reason",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProposalWriteSerializer(Serializer):
    """A proposal's fields as written; its lines under `line_items`, the name it is read
    by (`lines`, the name this API first took, is still read when `line_items` is not
    given, undocumented)."""

    title = TextField(max_length=200, required=False, allow_blank=True)
    currency = TextField(max_length=3, required=False, allow_blank=True)
    valid_until = serializers.DateField(required=False, allow_null=True)
    notes = TextField(required=False, allow_blank=True)
    line_items = LineInputSerializer(many=True, required=False, max_length=MAX_LINES)
    total = money_field(
        required=False, help_text="Optional: refused if the lines add up to another total."
    )

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and "lines" in data and "line_items" not in data:
            data = {**data, "line_items": data["lines"]}
            del data["lines"]  # read under its name now: not an unknown field
        return super().to_internal_value(data)

    def service_arguments(self) -> dict:
        data = dict(self.validated_data)
        if "line_items" in data:
            line = LineInputSerializer()
            data["lines"] = [line.to_line(item) for item in data.pop("line_items")]
        if "total" in data:
            data["expected_total"] = data.pop("total")
        return data


class ProposalCreateSerializer(ProposalWriteSerializer):
    opportunity = VisibleRelatedField(Opportunity)
    number = TextField(max_length=30, required=False, allow_blank=True)
    line_items = LineInputSerializer(many=True, min_length=1, max_length=MAX_LINES)


class SendSerializer(Serializer):
    """How a proposal or contract is sent (the admin's Send step, ADR 0031): emailed to the
    lead's contact with its PDF, or, `handed_over`, given another way (printed, in person)
    and only marked sent, which a lead who may not be emailed can still be given. The body
    may be empty: emailed."""

    handed_over = BooleanField(
        default=False,
        help_text="True: handed over another way, marked sent without emailing the lead.",
    )


class RejectionSerializer(Serializer):
    reason = TextField(required=False, allow_blank=True, default="", max_length=2000)


# --- contracts ------------------------------------------------------------------------


class ContractSerializer(ModelSerializer):
    class Meta:
        model = Contract
        fields = [
            "id",
            "opportunity",
            "proposal",
            "number",
            "title",
            "status",
            "start_date",
            "end_date",
            "value",
            "currency",
            "terms",
            "sent_at",
            "signed_at",
            "signer_name",
            "signer_email",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            f for f in fields if f not in ("title", "start_date", "end_date", "terms")
        ]

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": "The end is before the start."})
        return attrs


class SignSerializer(Serializer):
    signer_name = TextField(max_length=200)
    signer_email = EmailField(required=False, allow_blank=True, default="")
    signed_at = serializers.DateTimeField(required=False, allow_null=True)


class ContractStatusSerializer(Serializer):
    status = serializers.ChoiceField(
        choices=[ContractStatus.ACTIVE, ContractStatus.TERMINATED, ContractStatus.EXPIRED]
    )


# --- campaigns and calls --------------------------------------------------------------


class CampaignSerializer(ModelSerializer):
    calling_days = ListField(
        child=IntegerField(min_value=0, max_value=6), max_length=7, required=False
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "status",
            "script",
            "provider",
            "starts_at",
            "ends_at",
            "calling_hours_start",
            "calling_hours_end",
            "calling_days",
            "timezone",
            "lead_filter",
            "daily_call_limit",
            "total_call_limit",
            "max_attempts_per_lead",
            "launched_at",
            "paused_at",
            "completed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "launched_at",
            "paused_at",
            "completed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = bounds.CAMPAIGN

    def validate_lead_filter(self, value):
        return validate_lead_filter(value)

    def validate_calling_days(self, value):
        return sorted(set(value))

    def validate(self, attrs):
        def current(name):
            return attrs.get(name, getattr(self.instance, name, None))

        schedule = {name: current(name) for name in bounds.CAMPAIGN_SCHEDULE_FIELDS}
        if problems := bounds.campaign_schedule_problems(**schedule):
            raise serializers.ValidationError(problems)
        return attrs


class AICallSerializer(ModelSerializer):
    class Meta:
        model = AICall
        fields = [
            "id",
            "campaign",
            "lead",
            "provider",
            "provider_call_id",
            "status",
            "started_at",
            "ended_at",
            "duration_seconds",
            "recording_url",
            "transcript",
            "summary",
            "sentiment",
            "outcome",
            "analysis",
            "cost",
            "failure_reason",
            "result_recorded_at",
            "interaction",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# --- tasks ----------------------------------------------------------------------------


class TaskSerializer(ModelSerializer):
    assigned_to = MemberField(required=False, allow_null=True)
    lead = VisibleRelatedField(Lead, required=False, allow_null=True)
    opportunity = VisibleRelatedField(Opportunity, required=False, allow_null=True)
    is_overdue = BooleanField(read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "type",
            "priority",
            "status",
            "due_at",
            "assigned_to",
            "lead",
            "opportunity",
            "ai_call",
            "is_overdue",
            "completed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "ai_call",
            "completed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
