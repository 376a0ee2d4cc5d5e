"""Filing what the email provider posts to the inbound webhook, in the organization's
context the signature admitted:

- a reply is filed on the lead of the message it answers (In-Reply-To, then References),
  or else on the newest lead with the sender's address, as an inbound email message and
  an interaction on the lead's timeline; mail that matches no lead is not kept;
- a bounce puts the failed address on the suppression list, so that nothing is sent to
  it again, and marks the message it reports as bounced, with a note on its lead.

Deliveries are idempotent: a reply on the provider's Message-ID, a bounce on its address
and message. A repeat writes nothing and answers "duplicate".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parseaddr

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.choices import SuppressionReason
from compliance.suppression import suppress
from leads.choices import Direction, InteractionType
from leads.models import Lead
from leads.normalize import normalize_email
from leads.services import interaction_log
from mailing.choices import MessageDirection, MessageKind, MessageStatus
from mailing.models import EmailMessage

REPLY, BOUNCE = "reply", "bounce"


@dataclass(frozen=True)
class Inbound:
    event: str
    message_id: str
    from_email: str = ""
    to_email: str = ""
    subject: str = ""
    text: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    bounced_address: str = ""

    @property
    def thread(self) -> list[str]:
        """The Message-IDs this mail answers, the one it names first."""
        return [mid for mid in (self.in_reply_to, *reversed(self.references)) if mid]


def address_of(raw: str, field_name: str) -> str:
    """The bare, normalized address of `Name <address>` or `address`."""
    refusal = ValidationError({field_name: f"“{raw}” is not a valid email address."})
    try:
        address = normalize_email(parseaddr(raw or "")[1])
    except ValidationError as exc:
        raise refusal from exc
    if not address:
        raise refusal
    return address


def _answered(report: Inbound) -> EmailMessage | None:
    ids = report.thread
    if not ids:
        return None
    found = EmailMessage.objects.select_related("lead").filter(
        message_id__in=ids, lead__deleted_at__isnull=True
    )
    by_id = {message.message_id: message for message in found}
    return next((by_id[mid] for mid in ids if mid in by_id), None)


def _lead_for(report: Inbound, sender: str) -> Lead | None:
    original = _answered(report)
    if original is not None:
        return original.lead
    return Lead.objects.filter(contact_email_normalized=sender).order_by("-updated_at").first()


@transaction.atomic
def inbound_record(*, report: Inbound) -> tuple[EmailMessage | None, str]:
    """File one delivery; (the row written or found, "filed" | "duplicate" | "unmatched"
    | "suppressed")."""
    if report.event == BOUNCE:
        return _bounce(report)
    sender = address_of(report.from_email, "from_email")
    duplicate = EmailMessage.objects.filter(message_id=report.message_id).first()
    if duplicate is not None:
        return duplicate, "duplicate"
    lead = _lead_for(report, sender)
    if lead is None:
        return None, "unmatched"
    try:
        with transaction.atomic():
            message = EmailMessage.objects.create(
                lead=lead,
                direction=MessageDirection.INBOUND,
                kind=MessageKind.REPLY,
                status=MessageStatus.RECEIVED,
                message_id=report.message_id,
                in_reply_to=report.in_reply_to,
                from_email=sender,
                to_email=address_of(report.to_email, "to_email") if report.to_email else "",
                subject=report.subject[:200],
                body=report.text,
                sent_at=timezone.now(),
            )
    except IntegrityError:
        # The same delivery, filed by a concurrent request a moment ago.
        return EmailMessage.objects.get(message_id=report.message_id), "duplicate"
    message.interaction = interaction_log(
        lead=lead,
        acting_user=None,
        data={
            "type": InteractionType.EMAIL,
            "direction": Direction.INBOUND,
            "subject": message.subject,
            "content": message.body,
        },
    )
    message.save(update_fields=["interaction", "updated_at"])
    return message, "filed"


def _bounce(report: Inbound) -> tuple[EmailMessage | None, str]:
    original = _answered(report)
    raw = report.bounced_address or (original.to_email if original else "")
    if not raw:
        raise ValidationError(
            {"bounced_address": "A bounce names the failed address or the message it reports."}
        )
    address = address_of(raw, "bounced_address")
    listed = suppress(emails=[address], reason=SuppressionReason.BOUNCE)
    if original is None or original.status == MessageStatus.BOUNCED:
        # Nothing new when the address was listed already: a repeated report.
        return original, "suppressed" if listed else "duplicate"
    original.status = MessageStatus.BOUNCED
    original.last_error = (report.text or "Bounced.")[:500]
    original.save(update_fields=["status", "last_error", "updated_at"])
    interaction_log(
        lead=original.lead,
        acting_user=None,
        data={
            "type": InteractionType.NOTE,
            "direction": Direction.INTERNAL,
            "subject": f"Email bounced: {address}"[:200],
            "content": f"“{original.subject}” could not be delivered; the address is now"
            " on the suppression list.",
        },
    )
    return original, "suppressed"
