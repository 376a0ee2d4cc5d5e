"""Writes of the compliance domain: the API, the admin and the commands all call these.

Each is one transaction and takes `acting_user` (None for operators' commands), checked
against the permission service: exporting needs `compliance:read`, erasing
`compliance:delete`, both on top of the lead being in the user's scope; recording consent
needs `leads:update` on the lead. Exports and erasures are written to the security audit
log with ids and counts, never with the data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, record_audit_event
from accounts.models import User
from compliance import consent, erased, erasure, export, suppression
from compliance.choices import ConsentPurpose, ConsentSource, RequestKind, RequestStatus
from compliance.models import ConsentRecord, SubjectRequest
from compliance.subject import subject_of
from crm import services as crm_services
from crm.choices import AICallStatus
from crm.models import AICall
from leads import services as lead_services
from leads.models import Lead
from smartweb import access, json_schema
from smartweb.rbac import Action, Resource
from smartweb.writes import locked

CONSENT_WITHDRAWN_REASON = "Cancelled: consent to contact withdrawn."
ERASED_REASON = "Cancelled: the person's data was erased."
# The answer of an erasure request whose person was erased before it.
ALREADY_ERASED = "already_erased"
ACTIVE_CALL_STATUSES = (AICallStatus.QUEUED, AICallStatus.IN_PROGRESS)


def _subject_needs(action: str) -> list[tuple[str, str]]:
    """(action, resource) pairs a person's export (READ) or erasure (DELETE) needs: the
    compliance right, and the lead within the user's scope."""
    needs = [(action, Resource.COMPLIANCE), (Action.READ, Resource.LEADS)]
    if action == Action.DELETE:
        needs.append((Action.DELETE, Resource.LEADS))
    return needs


def _authorize_subject(user: User | None, action: str, lead: Lead) -> None:
    for needed, resource in _subject_needs(action):
        access.require(user, needed, resource, lead if resource == Resource.LEADS else None)


def subject_permitted(user: User, action: str) -> bool:
    """May the user export (READ) or erase (DELETE) some person's data? What the admin
    offers, before a lead is chosen."""
    return all(access.can(user, needed, resource) for needed, resource in _subject_needs(action))


def _user(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None


# --- requests ----------------------------------------------------------------------


@transaction.atomic
def subject_request_open(
    *,
    kind: str,
    lead: Lead,
    acting_user: User | None,
    notes: str = "",
    received_at: dt.datetime | None = None,
) -> SubjectRequest:
    """Record a person's request, to be answered within a month."""
    _authorize_subject(acting_user, Action.READ, lead)
    if kind not in RequestKind.values:
        raise ValidationError({"kind": f"Unknown request kind '{kind}'."})
    if received_at is not None and received_at > timezone.now():
        raise ValidationError({"received_at": "A request cannot be received in the future."})
    return SubjectRequest.objects.create(
        organization_id=lead.organization_id,
        kind=kind,
        lead=lead,
        notes=notes,
        received_at=received_at or timezone.now(),
        requested_by=_user(acting_user),
    )


@transaction.atomic
def subject_request_reject(
    *, subject_request: SubjectRequest, acting_user: User | None, reason: str
) -> SubjectRequest:
    access.require(acting_user, Action.UPDATE, Resource.COMPLIANCE)
    subject_request = locked(subject_request)  # one closed meanwhile is not closed again
    if subject_request.status != RequestStatus.OPEN:
        raise ValidationError("Only an open request can be rejected.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the request is rejected."})
    subject_request.notes = "\n\n".join(filter(None, [subject_request.notes, reason.strip()]))
    return _close(subject_request, RequestStatus.REJECTED, acting_user, {})


def _pending_request(
    kind: str, lead: Lead, subject_request: SubjectRequest | None
) -> SubjectRequest | None:
    """The request to answer, locked: the one given, or else the person's own open one
    (None when they made none)."""
    if subject_request is None:
        return (
            SubjectRequest.objects.select_for_update()
            .filter(kind=kind, lead=lead, status=RequestStatus.OPEN)
            .order_by("received_at")
            .first()
        )
    # Read under its lock: one closed meanwhile (by someone else) is refused, not closed
    # a second time over the first answer.
    subject_request = locked(subject_request)
    if subject_request.kind != kind or subject_request.lead_id != lead.pk:
        raise ValidationError(f"That request is not an {kind} request for this lead.")
    if subject_request.status != RequestStatus.OPEN:
        raise ValidationError("That request is already closed.")
    return subject_request


def _request_for(
    kind: str, lead: Lead, subject_request: SubjectRequest | None, acting_user: User | None
) -> SubjectRequest:
    """The request to answer (`_pending_request`), or a new one of the user's."""
    return _pending_request(kind, lead, subject_request) or SubjectRequest.objects.create(
        organization_id=lead.organization_id,
        kind=kind,
        lead=lead,
        requested_by=_user(acting_user),
    )


def _close(
    subject_request: SubjectRequest, status: str, acting_user: User | None, result: dict
) -> SubjectRequest:
    subject_request.status = status
    subject_request.completed_at = timezone.now()
    subject_request.completed_by = _user(acting_user)
    subject_request.result = result
    subject_request.save()
    return subject_request


# --- export ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str
    subject_request: SubjectRequest


@transaction.atomic
def export_subject(
    *,
    lead: Lead,
    acting_user: User | None,
    fmt: str = "json",
    subject_request: SubjectRequest | None = None,
    request=None,
) -> ExportFile:
    """Everything held about the lead's person, as JSON or a zip of CSV files."""
    _authorize_subject(acting_user, Action.READ, lead)
    if fmt not in export.RENDERERS:
        raise ValidationError({"format": f"Choose one of {', '.join(export.RENDERERS)}."})
    render, content_type, extension = export.RENDERERS[fmt]
    subject_request = _request_for(RequestKind.EXPORT, lead, subject_request, acting_user)
    document = export.build_document(subject_of(lead), organization=lead.organization)
    content = render(document)
    counts = export.counts(document)
    _close(subject_request, RequestStatus.COMPLETED, acting_user, {"format": fmt, "rows": counts})
    record_audit_event(
        action=AuditAction.EXPORT,
        actor=_user(acting_user),
        target=lead,
        request=request,
        details={
            "subject_request": str(subject_request.pk),
            "format": fmt,
            "lead_ids": document["subject"]["lead_ids"],
            "rows": counts,
        },
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return ExportFile(
        content=content,
        content_type=content_type,
        filename=f"subject-{lead.pk}-{stamp}.{extension}",
        subject_request=subject_request,
    )


# --- erasure -----------------------------------------------------------------------


@transaction.atomic
def erase_subject(
    *,
    lead: Lead,
    acting_user: User | None,
    subject_request: SubjectRequest | None = None,
    request=None,
) -> SubjectRequest:
    """Anonymize the lead's person everywhere, in one transaction; irreversible.

    Their emails and phones go on the suppression list (as hashes) first, their calls
    that have not happened are cancelled, then every row and history row is scrubbed and
    the files attached to any of their records are deleted (from storage on commit).

    The subject's leads are locked first and stay locked until the erasure commits:
    writers that came before it finish first (and are scrubbed), writers that come while
    it runs wait for it and are then refused, as every later write is (`compliance.erased`).
    A person is erased once: a second erasure, the one that waited for the first
    included, erases nothing again (`_answer_erased_before`).
    """
    _authorize_subject(acting_user, Action.DELETE, lead)
    erased.lock_leads([lead], for_update=True)
    earlier = erased.erasure_of(lead)  # read under the lock: an erasure before has finished
    if earlier is not None:
        return _answer_erased_before(lead, earlier, subject_request, acting_user)
    subject = subject_of(lead)  # read under the lock: a merge into the lead has finished
    erased.lock_leads(subject.lead_ids, for_update=True)
    subject_request = _request_for(RequestKind.ERASURE, lead, subject_request, acting_user)
    identifiers = erasure.identifiers_of(subject)
    suppressed = suppression.suppress(
        emails=identifiers.emails, phones=identifiers.phones, subject_request=subject_request
    )
    cancelled = _fail_calls(
        subject.part(AICall).rows().filter(status__in=ACTIVE_CALL_STATUSES), ERASED_REASON
    )
    erasure.close_calls(subject)
    tags_removed = erasure.remove_tags(subject, identifiers)
    rows = erasure.scrub(subject, identifiers)
    result = {
        "lead_ids": sorted(map(str, subject.lead_ids)),
        "rows": rows,
        "tags_removed": tags_removed,
        "attachments": erasure.remove_attachments(subject),
        "notifications": erasure.remove_notifications(subject),
        "suppression_entries": suppressed,
        "cancelled_calls": cancelled,
    }
    subject_request.refresh_from_db()
    _close(subject_request, RequestStatus.COMPLETED, acting_user, result)
    record_audit_event(
        action=AuditAction.ERASURE,
        actor=_user(acting_user),
        target=lead,
        request=request,
        details={"subject_request": str(subject_request.pk), **result},
    )
    return subject_request


def _answer_erased_before(
    lead: Lead,
    earlier: SubjectRequest,
    subject_request: SubjectRequest | None,
    acting_user: User | None,
) -> SubjectRequest:
    """The person was erased by `earlier`: nothing is left to erase, and nothing is
    erased, suppressed or logged again. Their request that came since (the one given, or
    their own open one) is answered with that erasure, its notes cleared as the erasure
    cleared those before it; with none to answer, the erasure is refused (`AlreadyErased`)."""
    pending = _pending_request(RequestKind.ERASURE, lead, subject_request)
    if pending is None:
        raise erased.AlreadyErased(earlier)
    erasure.scrub_request(pending)
    pending.refresh_from_db()
    answer = {"subject_request": str(earlier.pk), "completed_at": earlier.completed_at.isoformat()}
    return _close(pending, RequestStatus.COMPLETED, acting_user, {ALREADY_ERASED: answer})


def erased_before(subject_request: SubjectRequest) -> bool:
    """Was the erasure request answered with an earlier erasure of its person (nothing
    erased by it)?"""
    return ALREADY_ERASED in (subject_request.result or {})


# --- consent -----------------------------------------------------------------------


def _clean_consent(purpose: str, source: str, evidence: Any, recorded_at) -> dict:
    errors = {}
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = f"Choose one of {', '.join(ConsentPurpose.values)}."
    if source not in ConsentSource.values:
        errors["source"] = f"Choose one of {', '.join(ConsentSource.values)}."
    if evidence is not None:
        try:
            json_schema.validate(ConsentRecord, "evidence", evidence)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if recorded_at is not None and recorded_at > timezone.now():
        errors["recorded_at"] = "Consent cannot be recorded in the future."
    if errors:
        raise ValidationError(errors)
    return dict(evidence or {})


@transaction.atomic
def consent_record(
    *,
    lead: Lead,
    purpose: str,
    granted: bool,
    source: str,
    acting_user: User | None,
    evidence: Mapping | None = None,
    recorded_at: dt.datetime | None = None,
) -> ConsentRecord:
    """Record a consent given or withdrawn; it takes effect at once when it is the latest.

    The contact consent is mirrored on the lead (campaigns and calls check it there);
    withdrawing it also cancels the lead's queued AI calls.
    """
    access.require(acting_user, Action.UPDATE, Resource.LEADS, lead)
    erased.refuse_if_erased(lead, for_update=True)
    evidence = _clean_consent(purpose, source, evidence, recorded_at)
    record = ConsentRecord.objects.create(
        organization_id=lead.organization_id,
        lead=lead,
        purpose=purpose,
        granted=bool(granted),
        source=source,
        evidence=evidence,
        recorded_at=recorded_at or timezone.now(),
        recorded_by=_user(acting_user),
    )
    if purpose == ConsentPurpose.CONTACT and consent.latest(purpose, lead.pk).first() == record:
        if lead.consent_to_contact != record.granted:
            lead_services.lead_update(
                lead=lead, acting_user=acting_user, data={"consent_to_contact": record.granted}
            )
        if not record.granted:
            _fail_calls(
                AICall.objects.filter(lead=lead, status=AICallStatus.QUEUED),
                CONSENT_WITHDRAWN_REASON,
            )
    return record


def _fail_calls(calls, reason: str) -> int:
    """Fail the calls (through the CRM's own service, which writes their history)."""
    pks = list(calls.values_list("pk", flat=True))
    for pk in pks:
        crm_services.ai_call_mark_failed(ai_call_id=pk, reason=reason)
    return len(pks)
