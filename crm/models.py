"""CRM models: pipelines and stages, opportunities, proposals with line items, contracts,
AI call campaigns and their call records, and tasks.

Every model is tenant-owned (RLS, composite foreign keys, soft delete, history). Money is
`Decimal` with two places, never negative (database checks); statuses are database-checked
choices whose transitions live in `crm.choices` and are enforced by `crm.services`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from crm.choices import (
    CAMPAIGN_TRANSITIONS,
    TASK_OPEN_STATUSES,
    AICallStatus,
    CallOutcome,
    CampaignStatus,
    ContractStatus,
    OpportunityStatus,
    ProposalStatus,
    Sentiment,
    TaskPriority,
    TaskStatus,
    TaskType,
)
from smartweb.json_schema import DeclaredJSONField
from smartweb.models import (
    ActiveManager,
    AllObjectsManager,
    SoftDeleteQuerySet,
    TenantModel,
    TenantOwnedModel,
    active_index,
    active_unique,
    listed_or,
    organization_key,
)
from smartweb.rbac import Resource

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2}
DEFAULT_CURRENCY = "EUR"
WEEKDAYS = [0, 1, 2, 3, 4, 5, 6]


def _in(field: str, choices) -> Q:
    return Q(**{f"{field}__in": choices.values})


def _check(condition: Q, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=condition, name=name)


def _percent(field: str) -> Q:
    return Q(**{f"{field}__gte": 0, f"{field}__lte": 100})


def _currency(field: str = "currency") -> Q:
    return Q(**{f"{field}__regex": r"^[A-Z]{3}$"})


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone '{value}'.")


class Pipeline(TenantOwnedModel):
    """A sales pipeline; each organization has exactly one default pipeline."""

    rbac_resource = Resource.PIPELINES

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-is_default", "name"]
        constraints = [
            active_unique("organization", "name", name="crm_pipeline_name_unique"),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True, deleted_at__isnull=True),
                name="crm_pipeline_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def stage_flagged(self, flag: str) -> PipelineStage | None:
        """The pipeline's won (`flag="is_won"`) or lost stage."""
        return self.stages.filter(**{flag: True}).first()


class PipelineStage(TenantOwnedModel):
    """An ordered step of a pipeline with its default win probability (percent)."""

    rbac_resource = Resource.PIPELINES

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0)
    probability = models.DecimalField(**PERCENT, default=Decimal("0"))
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["position", "name"]
        constraints = [
            active_unique("pipeline", "name", name="crm_stage_name_unique"),
            _check(_percent("probability"), "crm_stage_probability_range"),
            _check(~Q(is_won=True, is_lost=True), "crm_stage_not_won_and_lost"),
            models.UniqueConstraint(
                fields=["pipeline"],
                condition=Q(is_won=True, deleted_at__isnull=True),
                name="crm_stage_one_won_per_pipeline",
            ),
            models.UniqueConstraint(
                fields=["pipeline"],
                condition=Q(is_lost=True, deleted_at__isnull=True),
                name="crm_stage_one_lost_per_pipeline",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            models.Index(
                fields=["organization", "pipeline", "position"], name="crm_stage_org_pipeline"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class OpportunityQuerySet(SoftDeleteQuerySet):
    def open(self):
        return self.filter(status=OpportunityStatus.OPEN)


class Opportunity(TenantOwnedModel):
    """A deal with a lead, moving through the stages of one pipeline."""

    organization = organization_key(db_index=False)

    rbac_resource = Resource.OPPORTUNITIES
    scope_owner_field = "owner"
    # Its history is read by id, by lead (a subject's data) and by date, never by these.
    history_unindexed = ("owner", "pipeline", "stage")

    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="opportunities")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="opportunities")
    name = models.CharField(max_length=200)
    value = models.DecimalField(**MONEY, default=Decimal("0"))
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    probability = models.DecimalField(**PERCENT, default=Decimal("0"))
    # value × probability / 100, computed and stored by PostgreSQL (rounded to cents).
    weighted_value = models.GeneratedField(
        expression=F("value") * F("probability") / Decimal("100"),
        output_field=models.DecimalField(**MONEY),
        db_persist=True,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="crm_opportunities",
    )
    expected_close_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    lost_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ActiveManager.from_queryset(OpportunityQuerySet)()
    all_objects = AllObjectsManager.from_queryset(OpportunityQuerySet)()

    class Meta(TenantOwnedModel.Meta):
        verbose_name_plural = "opportunities"
        ordering = ["-created_at"]
        constraints = [
            _check(_in("status", OpportunityStatus), "crm_opportunity_status_valid"),
            _check(Q(value__gte=0), "crm_opportunity_value_non_negative"),
            _check(_percent("probability"), "crm_opportunity_probability_range"),
            _check(_currency(), "crm_opportunity_currency_iso"),
            _check(
                Q(status=OpportunityStatus.OPEN, closed_at__isnull=True)
                | Q(~Q(status=OpportunityStatus.OPEN), closed_at__isnull=False),
                "crm_opportunity_closed_at_iff_closed",
            ),
            _check(
                ~Q(status=OpportunityStatus.LOST) | ~Q(lost_reason=""),
                "crm_opportunity_lost_has_reason",
            ),
            models.UniqueConstraint(
                fields=["organization", "lead"],
                condition=Q(status=OpportunityStatus.OPEN, deleted_at__isnull=True),
                name="crm_opportunity_one_open_per_lead",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            models.Index(
                F("organization"), F("weighted_value").desc(), name="crm_opp_org_weighted"
            ),
            # Top open opportunities: read in order, and their count, from this index alone.
            models.Index(
                F("organization"),
                F("weighted_value").desc(),
                name="crm_opp_open_weighted",
                condition=Q(status=OpportunityStatus.OPEN, deleted_at__isnull=True),
            ),
            # The pipeline board: each stage's biggest deals first (ties newest first, as
            # in a Lost stage where every weighted value is 0), read in index order. What
            # it carries lets the board pick each stage's cards and sum its values from
            # the index alone (the owner for a rep's own scope).
            models.Index(
                fields=["organization", "pipeline", "stage", "-weighted_value", "-created_at"],
                include=["id", "owner", "currency", "value"],
                name="crm_opp_board_stage_top",
                condition=Q(deleted_at__isnull=True),
            ),
            # A rep's deals; carries the id so that a rep's own scope over rows owned
            # through their deals (proposals, contracts, smartweb.access) reads the index
            # alone, and the status for their open deals. Ordered as the board is by
            # stage, so that a rep's board reads their own top deals of each stage in
            # index order instead of filtering every deal of the stage by owner.
            active_index(
                "organization",
                "owner",
                "pipeline",
                "stage",
                "-weighted_value",
                "-created_at",
                name="crm_opp_org_owner",
                include=["id", "status"],
            ),
            active_index("organization", "-created_at", name="crm_opp_org_created"),
            # What changed since (`ordering=updated_at`, `updated_after`; docs/decisions/0057).
            active_index("organization", "updated_at", name="crm_opp_org_updated"),
            models.Index(
                fields=["organization", "expected_close_date"],
                condition=Q(status=OpportunityStatus.OPEN, deleted_at__isnull=True),
                name="crm_opp_open_close_date",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Django 5.2 reads generated columns back on INSERT (RETURNING) but not on UPDATE.
        self.refresh_from_db(fields=["weighted_value"])

    @property
    def is_open(self) -> bool:
        return self.status == OpportunityStatus.OPEN

    # Lists read these in the opportunity query (crm.selectors.with_names).
    lead_name = listed_or("listed_lead_name", lambda opportunity: opportunity.lead.company.name)
    stage_name = listed_or("listed_stage_name", lambda opportunity: opportunity.stage.name)
    owner_summary = listed_or("listed_owner", lambda opportunity: opportunity.owner)


class Proposal(TenantOwnedModel):
    """A priced offer for an opportunity; totals are the sum of its line items."""

    organization = organization_key(db_index=False)

    rbac_resource = Resource.PROPOSALS
    scope_owner_field = "opportunity__owner"

    opportunity = models.ForeignKey(Opportunity, on_delete=models.PROTECT, related_name="proposals")
    number = models.CharField(max_length=30)
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    valid_until = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    subtotal = models.DecimalField(**MONEY, default=Decimal("0"), editable=False)
    discount_total = models.DecimalField(**MONEY, default=Decimal("0"), editable=False)
    tax_total = models.DecimalField(**MONEY, default=Decimal("0"), editable=False)
    total = models.DecimalField(**MONEY, default=Decimal("0"), editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    viewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    rejected_at = models.DateTimeField(null=True, blank=True, editable=False)
    rejection_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            active_unique("organization", "number", name="crm_proposal_number_unique"),
            _check(_in("status", ProposalStatus), "crm_proposal_status_valid"),
            _check(_currency(), "crm_proposal_currency_iso"),
            _check(
                Q(subtotal__gte=0, discount_total__gte=0, tax_total__gte=0, total__gte=0),
                "crm_proposal_money_non_negative",
            ),
            _check(
                Q(total=F("subtotal") - F("discount_total") + F("tax_total")),
                "crm_proposal_total_adds_up",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            models.Index(fields=["organization", "opportunity"], name="crm_proposal_org_opp"),
            models.Index(fields=["organization", "status"], name="crm_proposal_org_status"),
            active_index("organization", "-created_at", name="crm_proposal_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    # Lists prefetch these into a plain list (crm.selectors.with_line_items).
    line_item_list = listed_or("listed_line_items", lambda row: list(row.line_items.all()))


class ProposalLineItem(TenantOwnedModel):
    """One priced line: quantity × unit price, less a discount, plus tax (all stored)."""

    organization = organization_key(db_index=False)

    rbac_resource = Resource.PROPOSALS
    scope_owner_field = "proposal__opportunity__owner"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="line_items")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("1"))
    unit_price = models.DecimalField(**MONEY)
    discount_percent = models.DecimalField(**PERCENT, default=Decimal("0"))
    tax_rate = models.DecimalField(**PERCENT, default=Decimal("0"))
    subtotal = models.DecimalField(**MONEY, default=Decimal("0"), editable=False)
    discount_amount = models.DecimalField(**MONEY, default=Decimal("0"), editable=False)
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0"), editable=False)
    total = models.DecimalField(**MONEY, default=Decimal("0"), editable=False)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["position", "created_at"]
        constraints = [
            _check(Q(quantity__gt=0), "crm_line_quantity_positive"),
            _check(Q(unit_price__gte=0), "crm_line_unit_price_non_negative"),
            _check(_percent("discount_percent"), "crm_line_discount_range"),
            _check(_percent("tax_rate"), "crm_line_tax_range"),
            _check(
                Q(discount_amount__gte=0, discount_amount__lte=F("subtotal"), tax_amount__gte=0),
                "crm_line_amounts_valid",
            ),
            _check(
                Q(total=F("subtotal") - F("discount_amount") + F("tax_amount")),
                "crm_line_total_adds_up",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            models.Index(fields=["organization", "proposal", "position"], name="crm_line_org_prop"),
        ]

    def __str__(self) -> str:
        return self.description


class Contract(TenantOwnedModel):
    """The agreement drawn from an accepted proposal; signing it wins the opportunity."""

    organization = organization_key(db_index=False)

    rbac_resource = Resource.CONTRACTS
    scope_owner_field = "opportunity__owner"

    opportunity = models.ForeignKey(Opportunity, on_delete=models.PROTECT, related_name="contracts")
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="contracts")
    number = models.CharField(max_length=30)
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=12, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    value = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    terms = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signer_name = models.CharField(max_length=200, blank=True)
    signer_email = models.EmailField(blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            active_unique("organization", "number", name="crm_contract_number_unique"),
            active_unique("proposal", name="crm_contract_one_per_proposal"),
            _check(_in("status", ContractStatus), "crm_contract_status_valid"),
            _check(Q(value__gte=0), "crm_contract_value_non_negative"),
            _check(_currency(), "crm_contract_currency_iso"),
            _check(
                Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                "crm_contract_dates_ordered",
            ),
            _check(
                Q(status__in=[ContractStatus.DRAFT, ContractStatus.SENT])
                | Q(signed_at__isnull=False),
                "crm_contract_signed_has_date",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            models.Index(fields=["organization", "opportunity"], name="crm_contract_org_opp"),
            models.Index(fields=["organization", "status"], name="crm_contract_org_status"),
            active_index("organization", "-created_at", name="crm_contract_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


def default_calling_days() -> list[int]:
    return [0, 1, 2, 3, 4]


def default_calling_start() -> dt.time:
    return dt.time(9, 0)


def default_calling_end() -> dt.time:
    return dt.time(17, 0)


class Campaign(TenantOwnedModel):
    """An AI call campaign: whom to call (a lead filter), when (a schedule window and
    calling hours in its time zone), how much (limits) and what the agent says."""

    rbac_resource = Resource.CAMPAIGNS

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    script = models.TextField(help_text="The prompt or script the AI agent follows.")
    provider = models.CharField(max_length=40, default="http")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    calling_hours_start = models.TimeField(default=default_calling_start)
    calling_hours_end = models.TimeField(default=default_calling_end)
    calling_days = ArrayField(
        models.PositiveSmallIntegerField(),
        default=default_calling_days,
        help_text="Weekdays to call on, Monday = 0.",
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    lead_filter = DeclaredJSONField(default=dict, blank=True, schema="crm.json_schemas.LEAD_FILTER")
    daily_call_limit = models.PositiveIntegerField(null=True, blank=True)
    total_call_limit = models.PositiveIntegerField(null=True, blank=True)
    max_attempts_per_lead = models.PositiveSmallIntegerField(default=1)
    launched_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            active_unique("organization", "name", name="crm_campaign_name_unique"),
            _check(_in("status", CampaignStatus), "crm_campaign_status_valid"),
            _check(Q(calling_hours_end__gt=F("calling_hours_start")), "crm_campaign_hours_ordered"),
            _check(
                Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                "crm_campaign_window_ordered",
            ),
            _check(Q(calling_days__contained_by=WEEKDAYS), "crm_campaign_days_valid"),
            _check(Q(max_attempts_per_lead__gte=1), "crm_campaign_attempts_positive"),
            _check(
                Q(daily_call_limit__isnull=True) | Q(daily_call_limit__gte=1),
                "crm_campaign_daily_limit_positive",
            ),
            _check(
                Q(total_call_limit__isnull=True) | Q(total_call_limit__gte=1),
                "crm_campaign_total_limit_positive",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            models.Index(fields=["organization", "status"], name="crm_campaign_org_status"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def is_final(self) -> bool:
        """Completed or cancelled: a status with nowhere to go, and settings that stay."""
        return not CAMPAIGN_TRANSITIONS[self.status]


class AICall(TenantOwnedModel):
    """One AI call of a campaign to a lead, and what the provider reported about it."""

    organization = organization_key(db_index=False)

    rbac_resource = Resource.AI_CALLS
    scope_owner_field = "lead__assigned_to"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="calls")
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="ai_calls")
    provider = models.CharField(max_length=40)
    provider_call_id = models.CharField(max_length=120, blank=True)
    status = models.CharField(
        max_length=12, choices=AICallStatus.choices, default=AICallStatus.QUEUED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording_url = models.URLField(max_length=500, blank=True)
    transcript = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    outcome = models.CharField(max_length=20, choices=CallOutcome.choices, blank=True)
    analysis = DeclaredJSONField(default=dict, blank=True, schema="leads.json_schemas.AI_ANALYSIS")
    cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    # Set once, when the provider's final report is recorded: deliveries are idempotent.
    result_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)
    interaction = models.ForeignKey(
        "leads.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(TenantOwnedModel.Meta):
        verbose_name = "AI call"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider_call_id"],
                condition=~Q(provider_call_id=""),
                name="crm_aicall_provider_call_id_unique",
            ),
            _check(_in("status", AICallStatus), "crm_aicall_status_valid"),
            _check(Q(sentiment="") | _in("sentiment", Sentiment), "crm_aicall_sentiment_valid"),
            _check(Q(outcome="") | _in("outcome", CallOutcome), "crm_aicall_outcome_valid"),
            _check(Q(cost__isnull=True) | Q(cost__gte=0), "crm_aicall_cost_non_negative"),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            models.Index(
                fields=["organization", "campaign", "status"], name="crm_aicall_org_campaign"
            ),
            models.Index(fields=["organization", "lead", "created_at"], name="crm_aicall_org_lead"),
            active_index("organization", "-created_at", name="crm_aicall_org_created"),
        ]

    def __str__(self) -> str:
        return f"AI call {self.provider_call_id or self.pk}"


class TaskQuerySet(SoftDeleteQuerySet):
    def open(self):
        return self.filter(status__in=TASK_OPEN_STATUSES)

    def overdue(self, now: dt.datetime | None = None):
        return self.open().filter(due_at__lt=now or timezone.now())

    def due_by_end_of_today(self, now: dt.datetime | None = None):
        """Open tasks due before the current day (of the project's time zone) ends:
        those due today and the overdue."""
        local = timezone.localtime(now or timezone.now())
        end = local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
        return self.open().filter(due_at__lt=end)

    def due_today(self, now: dt.datetime | None = None, tz: dt.tzinfo | None = None):
        """Open tasks due during the current day of `tz` (the project's time zone)."""
        local = timezone.localtime(now or timezone.now(), tz)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + dt.timedelta(days=1)
        return self.open().filter(due_at__gte=start, due_at__lt=end)


class Task(TenantOwnedModel):
    """Something a person has to do, about a lead or an opportunity."""

    organization = organization_key(db_index=False)

    rbac_resource = Resource.TASKS
    scope_owner_field = "assigned_to"
    # Its history is read by id, by what it is about (a subject's data) and by date.
    history_unindexed = ("assigned_to", "created_by")

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=10, choices=TaskType.choices, default=TaskType.TODO)
    priority = models.CharField(
        max_length=10, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="crm_tasks",
    )
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="crm_tasks"
    )
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    ai_call = models.ForeignKey(
        AICall, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = ActiveManager.from_queryset(TaskQuerySet)()
    all_objects = AllObjectsManager.from_queryset(TaskQuerySet)()

    class Meta(TenantOwnedModel.Meta):
        ordering = ["due_at", "-created_at"]
        constraints = [
            _check(_in("type", TaskType), "crm_task_type_valid"),
            _check(_in("priority", TaskPriority), "crm_task_priority_valid"),
            _check(_in("status", TaskStatus), "crm_task_status_valid"),
            _check(
                Q(status=TaskStatus.DONE, completed_at__isnull=False)
                | Q(~Q(status=TaskStatus.DONE), completed_at__isnull=True),
                "crm_task_completed_at_iff_done",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            # "My tasks" and "overdue for me", the lists a person opens every morning.
            models.Index(
                fields=["organization", "assigned_to", "status", "due_at"],
                name="crm_task_org_assignee",
            ),
            models.Index(
                fields=["organization", "due_at"],
                condition=Q(status__in=TASK_OPEN_STATUSES, deleted_at__isnull=True),
                name="crm_task_open_due",
            ),
            active_index("organization", "due_at", "-created_at", name="crm_task_org_due"),
            # What changed since (`ordering=updated_at`, `updated_after`; docs/decisions/0057).
            active_index("organization", "updated_at", name="crm_task_org_updated"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return (
            self.status in TASK_OPEN_STATUSES
            and self.due_at is not None
            and self.due_at < timezone.now()
        )


class AICallWebhookSecret(TenantModel):
    """The organization's secret for signing AI call webhooks, encrypted at rest."""

    rbac_resource = Resource.CAMPAIGNS
    encrypted_fields = ("secret_encrypted",)

    secret_encrypted = models.TextField(editable=False)
    rotated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "AI call webhook secret"
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="crm_webhook_secret_one_per_org")
        ]

    def __str__(self) -> str:
        return f"Webhook secret rotated {self.rotated_at:%Y-%m-%d}"


class SalesDashboard(models.Model):
    """The admin's sales dashboard, listed on the admin index like a model. No table: the
    admin's list page of it is the dashboard (`crm.admin.SalesDashboardAdmin`)."""

    rbac_resource = Resource.OPPORTUNITIES

    class Meta:
        managed = False
        verbose_name = "sales dashboard"
        verbose_name_plural = "sales dashboard"

    def __str__(self) -> str:
        return "Sales dashboard"


class Rollup(models.Model):
    """A per-organization summary row kept by database triggers from the rows it counts,
    in the statement that changes them (`crm.rollups`, ADR 0027). Under the tenant policy
    like any tenant table. The ids it is keyed by are plain columns, not foreign keys: a
    row that counts nothing (all measures zero) may outlive what it names."""

    class Grain(models.TextChoices):
        DAY = "day"
        MONTH = "month"  # `day` is the month's first day
        # A month's rows of every owner together (owner NULL), for models keyed by owner.
        TOTAL = "total"

    organization = organization_key(db_index=False)
    # Each fact is counted on a day's row and on its month's: a period of whole months
    # reads a month's rows, ~30 times fewer than its days' (crm.rollups.period_q); and,
    # keyed by owner, on its month's total, one row where there is one per owner.
    grain = models.CharField(max_length=5, choices=Grain.choices)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class OpportunityRollup(Rollup):
    """Opportunities (count, value, weighted value) per pipeline, stage, owner, currency
    and status, on a day of one `kind`: expected to close, created, or closed on it."""

    class Kind(models.TextChoices):
        CLOSES = "closes"
        CREATED = "created"
        CLOSED = "closed"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    day = models.DateField(null=True)
    pipeline_id = models.UUIDField()
    stage_id = models.UUIDField()
    owner_id = models.UUIDField(null=True)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=6, choices=OpportunityStatus.choices)
    deals = models.BigIntegerField()
    value = models.DecimalField(max_digits=20, decimal_places=2)
    weighted_value = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "kind",
                    "grain",
                    "day",
                    "pipeline_id",
                    "stage_id",
                    "owner_id",
                    "currency",
                    "status",
                ],
                nulls_distinct=False,
                name="crm_opportunityrollup_key",
            )
        ]


class LeadRollup(Rollup):
    """Leads created on a day, per source, owner and status."""

    day = models.DateField()
    source = models.CharField(max_length=20)
    assigned_to_id = models.UUIDField(null=True)
    status = models.CharField(max_length=20)
    leads = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "grain", "day", "source", "assigned_to_id", "status"],
                nulls_distinct=False,
                name="crm_leadrollup_key",
            )
        ]
        # A lead list's count by assignee and status (crm.selectors.lead_count_rows): the
        # key's day and source come before the assignee, so one rep's rows were found
        # among every owner's months. Not covering `leads`: the triggers change it on
        # every lead write, which an index on it would keep from being a HOT update.
        indexes = [
            models.Index(
                fields=["organization", "grain", "assigned_to_id", "status"],
                name="crm_leadrollup_owner_status",
            )
        ]


class AICallRollup(Rollup):
    """AI calls created on a day, per campaign, status and outcome."""

    day = models.DateField()
    campaign_id = models.UUIDField()
    status = models.CharField(max_length=12)
    outcome = models.CharField(max_length=20)
    calls = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "grain", "day", "campaign_id", "status", "outcome"],
                name="crm_aicallrollup_key",
            )
        ]
