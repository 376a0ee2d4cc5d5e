"""Data subject rights: requests, consent records and the suppression list.

All are tenant tables under RLS. None is soft-deletable: they are the organization's
evidence of how it handled a person's data, kept as long as the person's lead (consent
records) or for good (requests, suppression entries, which hold no personal data).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from compliance.choices import (
    ConsentPurpose,
    ConsentSource,
    RequestKind,
    RequestStatus,
    SuppressionKind,
    SuppressionReason,
)
from smartweb.json_schema import DeclaredJSONField
from smartweb.models import TenantModel, tracked_history
from smartweb.rbac import Resource

# GDPR art. 12(3): one month to answer a request.
RESPONSE_DAYS = 30


def _in(field: str, choices: type[models.TextChoices]) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": choices.values}), name=f"%(app_label)s_%(class)s_{field}"
    )


class SubjectRequest(TenantModel):
    """A person's request to see (export) or erase their data, and how it was answered.

    `lead_reference` keeps the lead's id after the lead itself is purged. Nothing here
    may hold personal data but `notes`, which erasure clears.
    """

    rbac_resource = Resource.COMPLIANCE

    kind = models.CharField(max_length=10, choices=RequestKind.choices)
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    lead = models.ForeignKey(
        "leads.Lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subject_requests",
    )
    lead_reference = models.CharField(max_length=36, editable=False)
    received_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    notes = models.TextField(blank=True)
    # Counts and ids of what was exported or erased; never the data itself.
    result = models.JSONField(default=dict, blank=True, editable=False)
    history = tracked_history()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            _in("kind", RequestKind),
            _in("status", RequestStatus),
            models.CheckConstraint(
                condition=Q(status=RequestStatus.OPEN, completed_at__isnull=True)
                | (~Q(status=RequestStatus.OPEN) & Q(completed_at__isnull=False)),
                name="compliance_request_completed_iff_closed",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "due_at"], name="subjectrequest_open"),
            models.Index(fields=["organization", "lead"], name="subjectrequest_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request {self.received_at:%Y-%m-%d} ({self.status})"

    def save(self, *args, **kwargs):
        if self.lead_id and not self.lead_reference:
            self.lead_reference = str(self.lead_id)
        if self.due_at is None:
            self.due_at = self.received_at + dt.timedelta(days=RESPONSE_DAYS)
        super().save(*args, **kwargs)

    @property
    def is_overdue(self) -> bool:
        return self.status == RequestStatus.OPEN and self.due_at < timezone.now()


class ConsentRecord(TenantModel):
    """One statement of a person's consent for one purpose: given or withdrawn, when,
    how we learned it, and the evidence. Append-only: the latest record per purpose is
    the person's current choice."""

    rbac_resource = Resource.LEADS
    scope_owner_field = "lead__assigned_to"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="consent_records")
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    recorded_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    evidence = DeclaredJSONField(
        default=dict,
        blank=True,
        schema="compliance.json_schemas.CONSENT_EVIDENCE",
        help_text='What proves it: {"form_url": "…", "ip": "…", "text": "…"}.',
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    history = tracked_history()

    class Meta:
        ordering = ["-recorded_at", "-created_at"]
        constraints = [_in("purpose", ConsentPurpose), _in("source", ConsentSource)]
        indexes = [
            models.Index(
                F("organization"),
                F("lead"),
                F("purpose"),
                F("recorded_at").desc(),
                name="consent_lead_purpose",
            ),
            models.Index(
                F("organization"),
                F("recorded_at").desc(),
                name="consent_withdrawals",
                condition=Q(granted=False),
            ),
        ]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrawn"
        return f"{self.get_purpose_display()} {verb} {self.recorded_at:%Y-%m-%d}"


class SuppressionEntry(TenantModel):
    """An email or phone that must not silently come back after an erasure: a SHA-256
    of the organization id and the normalized value, never the value itself."""

    rbac_resource = Resource.COMPLIANCE

    kind = models.CharField(max_length=10, choices=SuppressionKind.choices)
    value_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=20, choices=SuppressionReason.choices)
    subject_request = models.ForeignKey(
        SubjectRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suppression_entries",
    )

    class Meta:
        verbose_name_plural = "suppression entries"
        ordering = ["-created_at"]
        constraints = [
            _in("kind", SuppressionKind),
            _in("reason", SuppressionReason),
            models.UniqueConstraint(
                fields=["organization", "kind", "value_hash"], name="suppression_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value_hash[:12]}…"


class ComplianceOverview(SubjectRequest):
    """The compliance page of the admin (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "compliance overview"
        verbose_name_plural = "compliance overview"
