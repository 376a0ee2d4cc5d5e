"""A person's notifications in one organization, and their choice about the daily digest.

Both are tenant tables under RLS. A notification names the record it is about by model
label and id (no foreign key: it may be about a lead, a task or a proposal, and outlives
none of them in meaning: erasure removes those of the erased person's records). Its
`dedupe_key` is unique per organization, so that a job run twice, or an event reported
twice, notifies once (ADR 0032).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from notifications.choices import NotificationKind
from smartweb.models import TenantModel


class Notification(TenantModel):
    """One thing one person should know: unread until they mark it read."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # Who caused it (the colleague who assigned the lead); None for the system's jobs.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    target_type = models.CharField(max_length=60)  # a model label, "crm.task"
    target_id = models.UUIDField()
    message = models.CharField(max_length=300)
    dedupe_key = models.CharField(max_length=200)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="notification_dedupe_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=NotificationKind.values), name="notification_kind_valid"
            ),
        ]
        indexes = [
            # A person's list, newest first.
            models.Index(
                fields=["organization", "recipient", "-created_at"], name="notification_inbox"
            ),
            # The header's unread count on every admin page.
            models.Index(
                fields=["organization", "recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            # Erasure: the notifications about one record.
            models.Index(fields=["organization", "target_id"], name="notification_target"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationSettings(TenantModel):
    """A member's choices about notifications in this organization (one row per member,
    made when first needed). `last_digest_at` makes the daily digest once per day."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    digest_enabled = models.BooleanField(
        default=True, help_text="Email me a daily digest of my unread notifications."
    )
    last_digest_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "notification settings"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="notificationsettings_once_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} digest={'on' if self.digest_enabled else 'off'}"
