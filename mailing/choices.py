"""Enumerations of the email log; each is checked by the database too."""

from django.db import models


class MessageDirection(models.TextChoices):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class MessageStatus(models.TextChoices):
    QUEUED = "queued"  # committed, waiting for the send job (or its retry)
    SENT = "sent"  # the SMTP server accepted it
    FAILED = "failed"  # the retries ran out, or the server refused it for good
    RECEIVED = "received"  # an inbound reply, filed on its lead
    BOUNCED = "bounced"  # a delivery failure report for an address of ours


class MessageKind(models.TextChoices):
    LEAD = "lead"  # written to the lead, from a template or by hand
    PROPOSAL = "proposal"
    CONTRACT = "contract"
    REPLY = "reply"
    BOUNCE = "bounce"
