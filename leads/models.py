"""Lead generation: companies, their leads, every interaction, enrichment and tags.

Every model is tenant-owned (organization_id under RLS, composite foreign keys),
soft-deletable and keeps history, except `LeadTag`, the lead-tag junction, which is a
tenant row with history but no soft delete (a tag is either on a lead or not).

Scope (own/team/all) follows the lead's assigned user: a company through its lead, an
interaction or enrichment through the lead it belongs to. Tags have no owner; they are
the organization's vocabulary and are visible to whoever may read leads.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex, GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from compliance.choices import ConsentPurpose
from leads.choices import (
    BusinessType,
    CompanySize,
    Direction,
    FormAssignment,
    FormField,
    InteractionType,
    LeadSource,
    LeadStatus,
    Outcome,
    WebsiteStatus,
)
from leads.normalize import validate_phone
from smartweb.json_schema import DeclaredJSONField
from smartweb.models import (
    TenantModel,
    TenantOwnedModel,
    active_index,
    active_unique,
    listed_or,
    organization_key,
    tracked_history,
)
from smartweb.rbac import Action, Resource, Scope

SEARCH_CONFIG = "simple"


def _choice_check(field: str, choices: type[models.TextChoices], *, blank: bool = False):
    condition = Q(**{f"{field}__in": choices.values})
    if blank:
        condition |= Q(**{field: ""})
    return models.CheckConstraint(condition=condition, name=f"%(app_label)s_%(class)s_{field}")


class Company(TenantOwnedModel):
    """A trade business: who they are, how to reach them, how they look online."""

    rbac_resource = Resource.COMPANIES
    # A company is its lead's assignee's, and its creator's: one recorded before its lead
    # must not vanish from the lists of whoever recorded it.
    scope_owner_field = ("lead__assigned_to", "created_by")
    # Its history is read by its id and by date (smartweb.models.TenantHistoricalRecords).
    history_unindexed = ("created_by",)

    organization = organization_key(db_index=False)
    name = models.CharField(max_length=200)
    business_type = models.CharField(
        max_length=30, choices=BusinessType.choices, default=BusinessType.OTHER
    )
    size = models.CharField(max_length=10, choices=CompanySize.choices, blank=True)
    phone = models.CharField(max_length=40, blank=True, validators=[validate_phone])
    email = models.EmailField(max_length=254, blank=True)
    website = models.URLField(max_length=300, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(
        max_length=2,
        blank=True,
        default="GB",
        validators=[RegexValidator(r"^[A-Z]{2}$", "Use a two-letter ISO country code.")],
    )
    online_presence = DeclaredJSONField(
        default=dict,
        blank=True,
        schema="leads.json_schemas.ONLINE_PRESENCE",
        help_text='{"website_status": "none|outdated|modern", "google_rating": 4.6, '
        '"google_review_count": 37, "social_profiles": {"facebook": "https://…"}}',
    )
    is_customer = models.BooleanField(default=False)
    customer_since = models.DateField(null=True, blank=True)
    metadata = DeclaredJSONField(default=dict, blank=True, schema="leads.json_schemas.METADATA")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # De-duplication keys, maintained by the services from the fields above.
    phone_normalized = models.CharField(max_length=20, blank=True, editable=False)
    email_normalized = models.CharField(max_length=254, blank=True, editable=False)
    website_domain = models.CharField(max_length=255, blank=True, editable=False)

    search_vector = models.GeneratedField(
        expression=SearchVector("name", weight="A", config=SEARCH_CONFIG)
        + SearchVector("city", "region", "postal_code", weight="B", config=SEARCH_CONFIG)
        + SearchVector("email", "website", "phone", weight="C", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta(TenantOwnedModel.Meta):
        verbose_name_plural = "companies"
        ordering = ["name"]
        constraints = [
            _choice_check("business_type", BusinessType),
            _choice_check("size", CompanySize, blank=True),
            models.CheckConstraint(
                condition=Q(online_presence__website_status__in=WebsiteStatus.values)
                | Q(online_presence__website_status__isnull=True),
                name="%(app_label)s_%(class)s_website_status",
            ),
            models.CheckConstraint(
                condition=Q(is_customer=True) | Q(customer_since__isnull=True),
                name="%(app_label)s_%(class)s_customer_since",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            # Searches are per organization (leads.search): the organization first (btree_gin)
            # keeps a large organization's search from reading every organization's matches.
            # No index without it: each GIN index costs every import and every write.
            GinIndex(fields=["organization", "search_vector"], name="company_org_search"),
            GinIndex(
                fields=["organization", "name"],
                opclasses=["", "gin_trgm_ops"],
                name="company_org_name_trgm",
            ),
            active_index("organization", "name", name="company_org_name"),
            active_index("organization", "phone_normalized", name="company_org_phone"),
            active_index("organization", "email_normalized", name="company_org_email"),
            active_index("organization", "website_domain", name="company_org_domain"),
            # The countries the list's filter offers, walked one at a time (the trash's too,
            # which the list also shows): smartweb.admin.IndexedValuesFilter.
            models.Index(fields=["organization", "country"], name="company_org_country"),
            # What changed since (docs/decisions/0057), as for leads; the newest first.
            active_index("organization", "updated_at", name="company_org_updated"),
            active_index("organization", "created_at", name="company_org_created"),
            # The list by city or by trade, in either order (the rest of the order sorted
            # within each value), their filters and counts (docs/decisions/0057, amended).
            active_index("organization", "city", name="company_org_city"),
            active_index("organization", "business_type", name="company_org_trade"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def website_status(self) -> str:
        return (self.online_presence or {}).get("website_status", "")


class Tag(TenantOwnedModel):
    """A label of the organization's own vocabulary ("hot", "needs-photos")."""

    rbac_resource = Resource.LEADS
    # Whoever reads leads reads the list; renaming or removing a tag touches every lead
    # carrying it, so it takes team scope or more.
    unowned_scope = {
        Action.READ: Scope.OWN,
        Action.UPDATE: Scope.TEAM,
        Action.DELETE: Scope.TEAM,
    }

    name = models.CharField(max_length=60)
    color = models.CharField(
        max_length=7,
        default="#64748b",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #1e90ff.")],
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                F("organization"),
                Lower("name"),
                condition=Q(deleted_at__isnull=True),
                name="leads_tag_name_unique_per_org",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Lead(TenantOwnedModel):
    """The sales prospect of one company: status, score, owner and consent."""

    rbac_resource = Resource.LEADS
    scope_owner_field = "assigned_to"
    # Its history is read by the lead's id and by date (timeline, versions, a subject's
    # data, retention), never by these (smartweb.models.TenantHistoricalRecords).
    history_unindexed = ("company", "assigned_to", "merged_into")

    # The composite key to its company, (organization_id, company_id), holds the organization
    # as the company's own key to it does: no second check of it on each write.
    organization = organization_key(db_index=False, db_constraint=False)
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="leads", related_query_name="lead"
    )
    contact_name = models.CharField(max_length=200, blank=True)
    contact_title = models.CharField(max_length=100, blank=True)
    contact_email = models.EmailField(max_length=254, blank=True)
    contact_phone = models.CharField(max_length=40, blank=True, validators=[validate_phone])
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.MANUAL)
    lead_score = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    score_override = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="A score set by hand; it replaces the computed one, whose breakdown stays.",
    )
    score_breakdown = models.JSONField(default=dict, blank=True, editable=False)
    scored_at = models.DateTimeField(null=True, blank=True, editable=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_leads",
    )
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    next_follow_up_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    consent_to_contact = models.BooleanField(default=False)
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    do_not_contact = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    tags = models.ManyToManyField(Tag, through="LeadTag", related_name="leads", blank=True)

    contact_phone_normalized = models.CharField(max_length=20, blank=True, editable=False)
    contact_email_normalized = models.CharField(max_length=254, blank=True, editable=False)

    search_vector = models.GeneratedField(
        expression=SearchVector("contact_name", weight="A", config=SEARCH_CONFIG)
        + SearchVector("contact_email", "contact_phone", weight="B", config=SEARCH_CONFIG)
        + SearchVector("notes", weight="C", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            active_unique("organization", "company", name="leads_lead_one_per_company"),
            _choice_check("status", LeadStatus),
            _choice_check("source", LeadSource),
            models.CheckConstraint(
                condition=Q(lead_score__gte=0, lead_score__lte=100),
                name="%(app_label)s_%(class)s_score_range",
            ),
            models.CheckConstraint(
                condition=Q(score_override__isnull=True)
                | Q(score_override__gte=0, score_override__lte=100),
                name="%(app_label)s_%(class)s_score_override_range",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            # Leads by status and score (the specification's index), live ones: every list
            # reads those. An index of every row beside it served no query but cost each write.
            models.Index(
                F("organization"),
                F("status"),
                F("lead_score").desc(),
                name="lead_active_status_score",
                condition=Q(deleted_at__isnull=True),
            ),
            active_index("organization", "-lead_score", name="lead_active_score"),
            # A rep's leads by score; carries the id and the company so that a rep's own
            # scope over rows owned through their leads (AI calls, companies:
            # smartweb.access) reads the index alone.
            active_index(
                "organization",
                "assigned_to",
                "-lead_score",
                name="lead_org_assignee",
                include=["id", "company"],
            ),
            # A rep's leads of one status by score, and their count, from the index alone.
            active_index(
                "organization",
                "assigned_to",
                "status",
                "-lead_score",
                name="lead_org_assignee_status",
            ),
            active_index("organization", "next_follow_up_at", name="lead_org_follow_up"),
            active_index("organization", "-created_at", name="lead_org_created"),
            # What changed since (`ordering=updated_at`, `updated_after`): an integration's
            # sync, paged in this order to the end; and who was called longest ago, or
            # lately (docs/decisions/0057).
            active_index("organization", "updated_at", name="lead_org_updated"),
            active_index("organization", "last_contacted_at", name="lead_org_last_contacted"),
            active_index("organization", "contact_phone_normalized", name="lead_org_phone"),
            active_index("organization", "contact_email_normalized", name="lead_org_email"),
            GinIndex(fields=["organization", "search_vector"], name="lead_org_search"),
        ]

    def __str__(self) -> str:
        name = self.contact_name or "lead"
        return f"{name} ({self.company})" if self.company_id else name

    # Lists read these in the lead query (leads.selectors.with_summaries, JSON objects).
    company_summary = listed_or("listed_company", lambda lead: lead.company)
    assignee_summary = listed_or("listed_assignee", lambda lead: lead.assigned_to)
    tag_list = listed_or("listed_tags", lambda lead: list(lead.tags.all()))


class LeadTag(TenantModel):
    """Lead <-> tag, carrying organization_id like every junction table here."""

    rbac_resource = Resource.LEADS
    scope_owner_field = "lead__assigned_to"
    # Its history is read by id and by lead (a subject's data), never by these.
    history_unindexed = ("tag",)

    # Held by the composite key to its lead, (organization_id, lead_id), as for a lead.
    organization = organization_key(db_index=False, db_constraint=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="lead_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="lead_tags")
    history = tracked_history()

    class Meta:
        # (organization_id, lead_id, tag_id) once keyed by organization (ADR 0035): a page
        # of leads reads its tag links by lead id from it, under RLS.
        constraints = [models.UniqueConstraint(fields=["lead", "tag"], name="leads_leadtag_unique")]
        indexes = [models.Index(fields=["organization", "tag"], name="leadtag_org_tag")]

    def __str__(self) -> str:
        # The tag by its name: the lead's page shows each of its links by it.
        return str(self.tag)


class Interaction(TenantOwnedModel):
    """One touchpoint with a lead: a call, an email, a meeting, a note, an AI call…"""

    rbac_resource = Resource.INTERACTIONS
    scope_owner_field = "lead__assigned_to"
    # The lead's own notes and calls: a colleague the lead is shared with reads them, at
    # either level; writing them stays in the lead's scope (ADR 0041).
    shared_with_parent = {Action.READ: "lead"}
    # Its history is read by id, by lead (a subject's data) and by date, never by its author.
    history_unindexed = ("created_by",)

    organization = organization_key(db_index=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="interactions")
    type = models.CharField(max_length=20, choices=InteractionType.choices)
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.OUTBOUND
    )
    subject = models.CharField(max_length=200, blank=True)
    content = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    duration_seconds = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(24 * 3600)]
    )
    outcome = models.CharField(max_length=30, choices=Outcome.choices, blank=True)
    ai_analysis = DeclaredJSONField(
        default=dict,
        blank=True,
        schema="leads.json_schemas.AI_ANALYSIS",
        help_text='{"sentiment": "positive", "intent": "…", "summary": "…", "next_steps": […]}',
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    search_vector = models.GeneratedField(
        expression=SearchVector("subject", weight="A", config=SEARCH_CONFIG)
        + SearchVector("content", weight="B", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-occurred_at"]
        constraints = [
            _choice_check("type", InteractionType),
            _choice_check("direction", Direction),
            _choice_check("outcome", Outcome, blank=True),
            models.CheckConstraint(
                condition=Q(duration_seconds__isnull=True)
                | Q(duration_seconds__gte=0, duration_seconds__lte=24 * 3600),
                name="%(app_label)s_%(class)s_duration",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            models.Index(
                F("organization"),
                F("lead"),
                F("type"),
                F("created_at").desc(),
                name="interaction_lead_type_created",
            ),
            active_index("organization", "lead", "-occurred_at", name="interaction_timeline"),
            # The organization's interactions newest first (API cursor pages, the admin).
            active_index("organization", "-created_at", name="interaction_org_created"),
            active_index("organization", "-occurred_at", name="interaction_org_occurred"),
            BrinIndex(fields=["created_at"], name="interaction_created_brin"),
            GinIndex(fields=["organization", "search_vector"], name="interaction_org_search"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.occurred_at:%Y-%m-%d %H:%M}"

    # Lists read it in the interaction query (leads.selectors.with_creator, JSON).
    creator_summary = listed_or("listed_creator", lambda interaction: interaction.created_by)


class LeadEnrichment(TenantOwnedModel):
    """Data about a lead's business fetched from a provider (maps, registries, a scan)."""

    rbac_resource = Resource.LEADS
    scope_owner_field = "lead__assigned_to"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrichments")
    provider = models.SlugField(max_length=60)
    data = DeclaredJSONField(default=dict, blank=True, schema="leads.json_schemas.ENRICHMENT_DATA")
    confidence = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-fetched_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=0, confidence__lte=1),
                name="%(app_label)s_%(class)s_confidence",
            )
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            active_index("organization", "lead", "-fetched_at", name="enrichment_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.fetched_at:%Y-%m-%d}"


def new_public_key() -> str:
    """192 random bits, URL-safe: the key is public, but it cannot be guessed."""
    return secrets.token_urlsafe(24)


class LeadForm(TenantOwnedModel):
    """A public lead-capture form of the organization (leads.lead_forms): anyone with its
    key may submit it; each submission becomes (or updates) a lead with source web_form.

    `last_assigned_to` is the round-robin state: the next new lead goes to the rep after
    them. It is written under the form's row lock, without a history row (a pointer)."""

    rbac_resource = Resource.LEAD_FORMS

    public_key = models.CharField(max_length=64, default=new_public_key, editable=False)
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    title = models.CharField(max_length=200, blank=True, help_text="Heading of the form page.")
    consent_text = models.TextField(
        blank=True, help_text="The statement beside the consent box, stored as evidence."
    )
    consent_purposes = ArrayField(
        models.CharField(max_length=20, choices=ConsentPurpose.choices),
        default=list,
        blank=True,
        help_text="What a ticked consent box grants.",
    )
    required_fields = ArrayField(
        models.CharField(max_length=20, choices=FormField.choices),
        default=list,
        blank=True,
        help_text="Fields a submission must fill (an email or a phone is always needed).",
    )
    assignment = models.CharField(
        max_length=20, choices=FormAssignment.choices, default=FormAssignment.ROUND_ROBIN
    )
    last_assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    success_message = models.CharField(
        max_length=500, default="Thank you, we will be in touch shortly."
    )
    redirect_url = models.URLField(
        max_length=500, blank=True, help_text="Where the page sends the visitor afterwards."
    )
    allowed_origins = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        help_text="Sites that may post or embed the form (https://example.com); none: any.",
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [
            # Global: the public endpoint finds the form (and its organization) by key.
            models.UniqueConstraint(fields=["public_key"], name="leadform_public_key_unique"),
            _choice_check("assignment", FormAssignment),
        ]

    def __str__(self) -> str:
        return self.name
