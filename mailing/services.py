"""Sending and filing email. Each function is one transaction in the current
organization's context, called alike by the API, the admin and the crm workflows.

An outbound message is written `queued` with its timeline interaction (and, for a
proposal or contract, its PDF stored as an attachment of the record) in the transaction
of the step that sends it; the send job delivers it once that transaction has committed
(`mailing.jobs`, ADR 0031). A refusal (bad address, do-not-contact, no consent, a
suppressed address, an unknown template field) raises before anything is written. The
unsubscribe link is added when the message is sent (`mailing.unsubscribe`, ADR 0042).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import make_msgid
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts import signing_secrets
from accounts.models import Organization, User
from attachments.services import attachment_create, require_change
from compliance.choices import SuppressionReason
from compliance.suppression import mail_suppression
from leads.choices import Direction, InteractionType
from leads.models import Lead
from leads.services import interaction_log, user_or_none
from mailing import fields, pdf, unsubscribe
from mailing.choices import MessageDirection, MessageKind, MessageStatus
from mailing.models import EmailMessage, EmailTemplate, InboundSecret
from smartweb import access
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import current_organization_id
from smartweb.writes import locked, save_changed, values_of

AUDIT_INBOUND_SECRET_ROTATED = "mailing.inbound_secret_rotated"  # noqa: S105 (an event name)
TEMPLATE_FIELDS = ("name", "subject", "body")
FROM_LENGTH = EmailMessage._meta.get_field("from_email").max_length
SUBJECT_LENGTH = EmailMessage._meta.get_field("subject").max_length
# Why an address may not be written to, as the refusal says it.
SUPPRESSED_BECAUSE = {
    SuppressionReason.ERASURE: "the person's data was erased",
    SuppressionReason.OBJECTION: "the person objected",
    SuppressionReason.BOUNCE: "mail to it bounced",
    SuppressionReason.UNSUBSCRIBED: "its owner unsubscribed",
}


# --- templates ----------------------------------------------------------------------


def _check_template(template: EmailTemplate) -> None:
    errors: dict = {}
    for name in ("subject", "body"):
        try:
            fields.check(getattr(template, name), name)
        except ValidationError as exc:
            errors.update(exc.error_dict)
    try:
        template.full_clean(exclude=["organization"], validate_unique=False)
    except ValidationError as exc:
        errors = {**exc.message_dict, **errors}
    if errors:
        raise ValidationError(errors)
    duplicate = EmailTemplate.objects.filter(name=template.name).exclude(pk=template.pk)
    if duplicate.exists():
        raise ValidationError({"name": "A template with this name exists already."})


@transaction.atomic
def template_create(*, acting_user: User | None, name: str, subject: str, body: str):
    """A new template; its fields are checked now (an unknown one is refused)."""
    access.require(acting_user, Action.UPDATE, Resource.ORGANIZATIONS)
    template = EmailTemplate(
        organization_id=current_organization_id(), name=name, subject=subject, body=body
    )
    _check_template(template)
    template.save()
    return template


@transaction.atomic
def template_update(*, template: EmailTemplate, acting_user: User | None, **changes):
    access.require(acting_user, Action.UPDATE, Resource.ORGANIZATIONS)
    unknown = set(changes) - set(TEMPLATE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    template = locked(template)
    before = values_of(template)
    for name, value in changes.items():
        setattr(template, name, value)
    _check_template(template)
    save_changed(template, before)
    return template


@transaction.atomic
def template_delete(*, template: EmailTemplate, acting_user: User | None) -> None:
    access.require(acting_user, Action.UPDATE, Resource.ORGANIZATIONS)
    template.delete()


# --- who may be written to ----------------------------------------------------------


def may_email(user: User | None, lead: Lead) -> bool:
    """The rule of logging an interaction: creating interactions, in the lead's scope."""
    return user is None or access.within_scope(
        user, Action.CREATE, lead, resource=Resource.INTERACTIONS
    )


def require_contactable(lead: Lead, address: str) -> str:
    """The lead's address, or a refusal saying why it may not be written to now."""
    address = (address or "").strip()
    if not address:
        raise ValidationError({"to": "The lead has no email address."}, code="no_address")
    try:
        validate_email(address)
    except ValidationError as exc:
        raise ValidationError(
            {"to": f"“{address}” is not a valid email address."}, code="invalid_address"
        ) from exc
    # First: the address's own refusal ("unsubscribed") says more than the lack of
    # consent an unsubscribe also leaves.
    reason = mail_suppression(address)
    if reason is not None:
        raise ValidationError(
            {
                "to": f"The address is on the suppression list ({SUPPRESSED_BECAUSE[reason]}):"
                " no email is sent."
            },
            code="suppressed",
        )
    if lead.do_not_contact:
        raise ValidationError(
            {"to": "The lead is marked do-not-contact: no email is sent."}, code="do_not_contact"
        )
    if not lead.consent_to_contact:
        raise ValidationError(
            {"to": "The lead has not consented to be contacted (or withdrew consent)."},
            code="no_consent",
        )
    if lead.deleted_at is not None:
        raise ValidationError({"lead": "This lead is deleted."})
    unsubscribe.require_site_url()
    return address


# --- sending ------------------------------------------------------------------------


@dataclass(frozen=True)
class Composed:
    """A message's text. Its subject is one line within the column, whatever it was made
    from: a template's fields or a proposal's title may hold line breaks, which a mail
    header cannot (Django refuses to send them)."""

    subject: str
    body: str

    def __post_init__(self):
        folded = " ".join(self.subject.split())[:SUBJECT_LENGTH]
        object.__setattr__(self, "subject", folded)


def _from_address(sender: User | None, organization: Organization) -> str:
    """The configured sending address, shown with the sender's (or organization's) name:
    mail goes out from one verified domain, never from the rep's own."""
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = (sender.full_name or sender.email) if sender else organization.name
    name = " ".join(name.split())  # one line, whatever an older row holds
    shown = formataddr((f"{name} ({organization.name})" if sender else name, address))
    return shown if len(shown) <= FROM_LENGTH else address


def _reply_to(sender: User | None) -> str:
    return settings.EMAIL_REPLY_TO or (sender.email if sender else "")


def _queue(
    *,
    lead: Lead,
    to: str,
    composed: Composed,
    kind: str,
    sender: User | None,
    template: EmailTemplate | None = None,
    attachment=None,
) -> EmailMessage:
    """The message row and its timeline entry; the send job is queued on commit."""
    organization = Organization.objects.get(pk=lead.organization_id)
    interaction = interaction_log(
        lead=lead,
        acting_user=None,  # the caller has authorized the send
        data={
            "type": InteractionType.EMAIL,
            "direction": Direction.OUTBOUND,
            "subject": composed.subject,
            "content": composed.body,
        },
    )
    message = EmailMessage.objects.create(
        lead=lead,
        interaction=interaction,
        attachment=attachment,
        template=template,
        sent_by=sender,
        direction=MessageDirection.OUTBOUND,
        kind=kind,
        status=MessageStatus.QUEUED,
        message_id=make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN),
        from_email=_from_address(sender, organization),
        to_email=to,
        reply_to=_reply_to(sender),
        subject=composed.subject,
        body=composed.body,
        next_attempt_at=timezone.now(),
    )
    from mailing import jobs  # as crm's services do: the task module loads on first use

    organization_id, message_pk = message.organization_id, message.pk
    # Robust, as a webhook's nudge (`webhooks.outbox.nudge_on_commit`): the message is
    # committed, and the minute's sweep queues any due (`mailing.jobs.sweep`).
    transaction.on_commit(
        lambda: jobs.defer_send(organization_id=organization_id, message_id=message_pk),
        robust=True,
    )
    return message


def _compose(*, lead: Lead, sender, template, subject: str, body: str) -> Composed:
    """From the template, or from the subject and body given (checked like a template)."""
    if template is not None:
        subject, body = template.subject, template.body
    errors: dict = {}
    for name, text in (("subject", subject), ("body", body)):
        if not (text or "").strip():
            errors[name] = "This field is required (or choose a template)."
            continue
        try:
            fields.check(text, name)
        except ValidationError as exc:
            errors.update(exc.error_dict)
    if errors:
        raise ValidationError(errors)
    organization = Organization.objects.get(pk=lead.organization_id)
    values = {"lead": lead, "sender": sender, "organization": organization}
    return Composed(
        subject=fields.render(subject, **values),
        body=fields.render(body, **values),
    )


@transaction.atomic
def email_send_to_lead(
    *,
    lead: Lead,
    acting_user: User | None,
    template: EmailTemplate | None = None,
    subject: str = "",
    body: str = "",
) -> EmailMessage:
    """Write to the lead: who may log an interaction on it may email it."""
    if not may_email(acting_user, lead):
        raise PermissionDenied("You do not have permission to do this for that lead.")
    lead = locked(lead, "company")
    to = require_contactable(lead, lead.contact_email)
    sender = user_or_none(acting_user)
    composed = _compose(lead=lead, sender=sender, template=template, subject=subject, body=body)
    return _queue(
        lead=lead, to=to, composed=composed, kind=MessageKind.LEAD, sender=sender, template=template
    )


DOCUMENT_TEXT = {
    MessageKind.PROPOSAL: (
        "Proposal {number}: {title}",
        "Hello {name},\n\nplease find attached our proposal {number}, “{title}”, for {total}."
        "{valid}\n\nWith kind regards,\n{sender}",
    ),
    MessageKind.CONTRACT: (
        "Contract {number}: {title}",
        "Hello {name},\n\nplease find attached contract {number}, “{title}”, for {total}, "
        "to sign and return.\n\nWith kind regards,\n{sender}",
    ),
}


def _document_text(kind: str, record, lead: Lead, sender, organization) -> Composed:
    subject, body = DOCUMENT_TEXT[kind]
    total = getattr(record, "total", None) or record.value
    valid_until = getattr(record, "valid_until", None)
    values = {
        "number": record.number,
        "title": record.title,
        "name": lead.contact_name or "there",
        "total": f"{record.currency} {total:,.2f}",
        "valid": f" It is valid until {valid_until:%d %B %Y}." if valid_until else "",
        "sender": (sender.full_name or sender.email) if sender else organization.name,
    }
    return Composed(subject=subject.format(**values), body=body.format(**values))


def email_document(*, record, kind: str, acting_user: User | None) -> EmailMessage | None:
    """Email a proposal or contract (locked by its workflow step) to its lead's contact,
    with its PDF, which is kept as an attachment of the record. It needs what the step
    needs, the right to change the record, and refuses anyone else before telling them
    anything of the lead (whether it may be written to). A lead without an address gets
    no email (the document was handed over another way); one that may not be written to
    refuses the step. Called inside the step's transaction."""
    require_change(acting_user, record)
    lead = Lead.objects.select_related("company").get(pk=record.opportunity.lead_id)
    if not lead.contact_email:
        return None
    to = require_contactable(lead, lead.contact_email)
    organization = Organization.objects.get(pk=record.organization_id)
    sender = user_or_none(acting_user)
    render = pdf.proposal_pdf if kind == MessageKind.PROPOSAL else pdf.contract_pdf
    document = ContentFile(render(record, organization=organization), name=f"{record.number}.pdf")
    attachment = attachment_create(record=record, upload=document, acting_user=acting_user)
    return _queue(
        lead=lead,
        to=to,
        composed=_document_text(kind, record, lead, sender, organization),
        kind=kind,
        sender=sender,
        attachment=attachment,
    )


# --- the inbound webhook's secret ------------------------------------------------------


@transaction.atomic
def inbound_secret_rotate(*, acting_user: User | None) -> str:
    """A new secret for the email provider's inbound deliveries, returned once. Its own,
    not the AI call provider's, so that neither provider can sign for the other."""
    return signing_secrets.rotate(
        InboundSecret,
        acting_user=acting_user,
        resource=Resource.ORGANIZATIONS,
        audit_action=AUDIT_INBOUND_SECRET_ROTATED,
    )


def inbound_verify(*, timestamp: str, signature: str, body: bytes, now=None) -> bool:
    return signing_secrets.verify(
        InboundSecret, timestamp=timestamp, signature=signature, body=body, now=now
    )
