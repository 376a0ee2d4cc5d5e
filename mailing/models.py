"""Email: the organization's templates, the log of every message sent or received (one
row per message, which is also the queue of the send job, ADR 0031), and the secret that
signs the email provider's inbound deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mailing.choices import MessageDirection, MessageKind, MessageStatus
from smartweb.models import TenantModel, TenantOwnedModel, active_unique
from smartweb.rbac import Resource


def _in(field: str, choices) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": choices.values}), name=f"mailing_%(class)s_{field}_valid"
    )


class EmailTemplate(TenantOwnedModel):
    """A subject and body with `{{ lead.contact_name }}`-style fields (`mailing.fields`),
    checked when saved: an unknown field is refused then, never found at send time. The
    organization's settings: its admins write them, everyone reads them."""

    rbac_resource = Resource.ORGANIZATIONS

    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=20_000)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [active_unique("organization", "name", name="mailing_template_name_unique")]

    def __str__(self) -> str:
        return self.name


class EmailMessage(TenantModel):
    """One email to or from a lead. Outbound rows are written `queued` in the transaction
    of the step that sends them, and the send job delivers them after it commits."""

    rbac_resource = Resource.INTERACTIONS
    scope_owner_field = "lead__assigned_to"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="email_messages")
    interaction = models.ForeignKey(
        "leads.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attachment = models.ForeignKey(
        "attachments.Attachment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    template = models.ForeignKey(
        EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    direction = models.CharField(max_length=10, choices=MessageDirection.choices)
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    # RFC 5322 Message-ID, angle brackets included; a reply names it in In-Reply-To.
    message_id = models.CharField(max_length=255)
    in_reply_to = models.CharField(max_length=255, blank=True)
    from_email = models.CharField(max_length=254)
    to_email = models.CharField(max_length=254)
    reply_to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            _in("direction", MessageDirection),
            _in("kind", MessageKind),
            _in("status", MessageStatus),
            models.UniqueConstraint(
                fields=["organization", "message_id"], name="mailing_message_id_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "lead", "-created_at"], name="mailing_msg_lead"),
            # The sweep: queued messages by due time.
            models.Index(
                fields=["organization", "next_attempt_at"],
                condition=Q(status="queued"),
                name="mailing_msg_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email}"


class InboundSecret(TenantModel):
    """The organization's secret for the email provider's inbound deliveries, encrypted
    at rest; its own, so that neither provider can sign for the other."""

    rbac_resource = Resource.ORGANIZATIONS
    encrypted_fields = ("secret_encrypted",)

    secret_encrypted = models.TextField(editable=False)
    rotated_at = models.DateTimeField(editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="mailing_inbound_secret_one")
        ]

    def __str__(self) -> str:
        return f"Inbound email secret rotated {self.rotated_at:%Y-%m-%d}"
