"""Outbound webhooks: an organization's endpoints, the events written to the outbox in
the transaction that caused them, one delivery per (event, endpoint) with its retry
state, and the log of every attempt.

The outbox rows commit or roll back with the change they report, so an event is
delivered if and only if its transaction committed (ADR 0028).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from smartweb.models import TenantModel, TenantOwnedModel
from smartweb.rbac import Resource
from webhooks.choices import DeliveryStatus, EventType


class Endpoint(TenantOwnedModel):
    """A URL of the organization's that receives the events it subscribed to, signed with
    its secret (stored encrypted, never shown again after it is set)."""

    rbac_resource = Resource.WEBHOOKS
    encrypted_fields = ("secret_encrypted",)  # re-encrypted by rotate_encryption_key

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=40, choices=EventType.choices))
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(default=True)
    # Failed attempts in a row, any delivery, and when the first of them was; a success
    # resets both. At WEBHOOK_DISABLE_AFTER_FAILURES, once failing for
    # WEBHOOK_DISABLE_AFTER_HOURS, the endpoint is disabled and its admins told.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["url"]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            # emit(): the active endpoints subscribed to one event type.
            models.Index(
                fields=["organization", "is_active"],
                condition=Q(deleted_at__isnull=True),
                name="endpoint_org_active",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class OutboxEvent(TenantModel):
    """One event, written in the transaction of the change it reports. `dedupe_key`, when
    given, makes the event once-only (a task becomes overdue once per due date)."""

    event_type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    dedupe_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="outboxevent_dedupe_unique",
            )
        ]
        indexes = [models.Index(fields=["organization", "created_at"], name="outboxevent_org")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.pk}"


class Delivery(TenantModel):
    """The delivery of one event to one endpoint: pending until the endpoint answers 2xx
    (delivered) or a day of retries runs out (failed). An endpoint's pending deliveries
    are sent in the order they were made (`webhooks.backlog`)."""

    rbac_resource = Resource.WEBHOOKS

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint")
        ]
        indexes = [
            # The drain and the sweep: an endpoint's pending deliveries, oldest first.
            models.Index(
                fields=["organization", "endpoint", "created_at"],
                condition=Q(status="pending"),
                name="delivery_endpoint_backlog",
            ),
            models.Index(fields=["organization", "endpoint", "-created_at"], name="delivery_log"),
            models.Index(fields=["organization", "event"], name="delivery_org_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class DeliveryAttempt(TenantModel):
    """One POST of a delivery: its answer (or the error), and how long it took."""

    rbac_resource = Resource.WEBHOOKS

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField()

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="deliveryattempt_once")
        ]
        indexes = [
            models.Index(fields=["organization", "delivery", "number"], name="deliveryattempt_org")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"
