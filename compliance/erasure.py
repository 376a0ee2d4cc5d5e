"""Erasure: the subject's personal data is overwritten in place, history included.

Rows stay (with their ids, statuses, amounts and dates), so counts, pipeline totals and
reports do not change; what identifies or describes the person does not survive:

- fields that only hold personal data are cleared (`clear`);
- labels that may mention the person (an opportunity's name, a task's title) keep their
  text with every identifier of the subject replaced (`redact`);
- JSON documents keep only keys known to be impersonal (`keep_keys`).

The same UPDATE runs on the current rows and on their history rows (simple-history
keeps old values), which also lose the client address and user agent of each change.
Search vectors are generated columns and follow their sources. The admin writes no change
log (ADR 0011): nothing else names the subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Func, Q, Value, When
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Left, Lower
from django.utils import timezone

from attachments.models import RECORD_RESOURCES
from attachments.selectors import record_model
from attachments.services import attachments_erase
from compliance.models import ConsentRecord, SubjectRequest
from compliance.subject import Part, Subject, history_model
from crm.models import AICall, Contract, Opportunity, Proposal, ProposalLineItem, Task
from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag, Tag
from leads.normalize import DEFAULT_COUNTRY_CODE, normalize_phone
from leads.services import tag_remove
from mailing.models import EmailMessage
from notifications.services import notifications_erase
from smartweb import outage

ERASED = "[erased]"
# Rounds of looking a scrubbed tag name up and taking it (`_take_scrubbed_name`).
NAME_ATTEMPTS = 3
HISTORY_ORIGIN_CLEARED = {"history_ip_address": None, "history_user_agent": ""}
# A name part shorter than this is not redacted inside labels ("Al" in "Alarm").
MIN_NAME_PART = 3
_SEPARATORS = "[-. ()/]*"


@dataclass(frozen=True)
class Scrub:
    clear: dict[str, Any] = field(default_factory=dict)
    redact: tuple[str, ...] = ()
    # Free text that must stay non-empty when it was (a lost deal needs its reason).
    replace_if_set: tuple[str, ...] = ()
    keep_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Current rows only: history keeps what the flags were at the time.
    current: dict[str, Any] = field(default_factory=dict)


SCRUBS: dict[type[models.Model], Scrub] = {
    Lead: Scrub(
        clear={
            "contact_name": "",
            "contact_title": "",
            "contact_email": "",
            "contact_phone": "",
            "notes": "",
            "contact_email_normalized": "",
            "contact_phone_normalized": "",
        },
        current={"consent_to_contact": False, "do_not_contact": True},
    ),
    Company: Scrub(
        clear={
            "name": ERASED,
            "phone": "",
            "email": "",
            "website": "",
            "address_line1": "",
            "address_line2": "",
            "postal_code": "",
            "metadata": {},
            "phone_normalized": "",
            "email_normalized": "",
            "website_domain": "",
        },
        keep_keys={"online_presence": ("website_status", "google_rating", "google_review_count")},
    ),
    # Tags are the organization's vocabulary: only a tag that names the person changes.
    Tag: Scrub(redact=("name", "description")),
    Interaction: Scrub(
        clear={"subject": "", "content": ""}, keep_keys={"ai_analysis": ("sentiment",)}
    ),
    LeadEnrichment: Scrub(clear={"data": {}}),
    Opportunity: Scrub(redact=("name",), replace_if_set=("lost_reason",)),
    Proposal: Scrub(redact=("title",), clear={"notes": "", "rejection_reason": ""}),
    ProposalLineItem: Scrub(redact=("description",)),
    Contract: Scrub(redact=("title",), clear={"terms": "", "signer_name": "", "signer_email": ""}),
    AICall: Scrub(
        clear={"transcript": "", "summary": "", "recording_url": "", "analysis": {}},
        redact=("failure_reason",),
    ),
    Task: Scrub(redact=("title",), clear={"description": ""}),
    ConsentRecord: Scrub(clear={"evidence": {}}),
    SubjectRequest: Scrub(clear={"notes": ""}),
    # The message row stays (its status and dates count); what it said and to whom goes.
    EmailMessage: Scrub(
        clear={
            "subject": ERASED,
            "body": "",
            "to_email": "",
            "from_email": "",
            "reply_to": "",
            "last_error": "",
        }
    ),
}


@dataclass(frozen=True)
class Identifiers:
    """What identifies the subject, gathered before anything is overwritten.

    A person's name is also matched word by word ("Mr Smith"); a business name only as
    a whole, since its words ("Plumbing") say nothing about anyone.
    """

    people: frozenset[str]
    businesses: frozenset[str]
    emails: frozenset[str]
    phones: frozenset[str]
    websites: frozenset[str]

    def pattern(self) -> str:
        """A PostgreSQL regular expression matching any of them ('' when none)."""
        literals = {*self.people, *self.businesses, *self.emails, *self.websites}
        words = {
            part
            for name in self.people
            for part in re.split(r"[\W_]+", name)
            if len(part) >= MIN_NAME_PART
        }
        pieces = sorted(
            [re.escape(v) for v in literals if v]
            + [rf"\m{re.escape(w)}\M" for w in words]
            + [p for phone in self.phones for p in _phone_patterns(phone)],
            key=len,
            reverse=True,
        )
        return "|".join(pieces)


def _phone_patterns(raw: str) -> list[str]:
    """A phone number in any spelling: +44 7700 900123, 0044…, 07700-900123."""
    try:
        normalized = normalize_phone(raw)
    except ValidationError:
        return [re.escape(raw)] if raw else []
    if not normalized:
        return []
    digits = normalized.lstrip("+")
    patterns = [r"(\+|00)?" + _SEPARATORS.join(digits)]
    if digits.startswith(DEFAULT_COUNTRY_CODE):
        patterns.append("0" + _SEPARATORS.join(digits[len(DEFAULT_COUNTRY_CODE) :]))
    return patterns


def _values(part: Part, fields: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for queryset in (part.rows(), part.history()):
        for row in queryset.values_list(*fields):
            found.update(v.strip() for v in row if v and v.strip())
    return found


def identifiers_of(subject: Subject) -> Identifiers:
    lead, company, contract = (
        subject.part(Lead),
        subject.part(Company),
        subject.part(Contract),
    )
    return Identifiers(
        people=frozenset(_values(lead, ["contact_name"]) | _values(contract, ["signer_name"])),
        businesses=frozenset(_values(company, ["name"])),
        emails=frozenset(
            _values(lead, ["contact_email"])
            | _values(company, ["email"])
            | _values(contract, ["signer_email"])
        ),
        phones=frozenset(_values(lead, ["contact_phone"]) | _values(company, ["phone"])),
        websites=frozenset(_values(company, ["website", "website_domain"])),
    )


def _regexp_replace(model: type[models.Model], column: str, pattern: str) -> Func:
    replaced = Func(
        F(column),
        Value(pattern),
        Value(ERASED),
        Value("gi"),
        function="regexp_replace",
        output_field=models.TextField(),
    )
    max_length = model._meta.get_field(column).max_length
    # The placeholder may be longer than a short name it replaces.
    return Left(replaced, max_length) if max_length else replaced


def _keep_keys(column: str, keys: tuple[str, ...]) -> Func:
    """The JSON object in `column` with only `keys` (missing or null ones left out)."""
    pairs = [
        expression
        for key in keys
        for expression in (Cast(Value(key), models.TextField()), KeyTransform(key, column))
    ]
    built = Func(*pairs, function="jsonb_build_object", output_field=models.JSONField())
    return Func(built, function="jsonb_strip_nulls", output_field=models.JSONField())


def _changes(
    model: type[models.Model], scrub: Scrub, pattern: str, *, history: bool
) -> dict[str, Any]:
    changes: dict[str, Any] = dict(scrub.clear)
    redacted = [*scrub.redact, "history_change_reason"] if history else list(scrub.redact)
    if pattern:
        changes.update({name: _regexp_replace(model, name, pattern) for name in redacted})
    changes.update(
        {
            name: Case(When(**{name: ""}, then=Value("")), default=Value(ERASED))
            for name in scrub.replace_if_set
        }
    )
    changes.update({name: _keep_keys(name, keys) for name, keys in scrub.keep_keys.items()})
    if history:
        # Where each change came from identifies the person who made it; the request id
        # stays, so the change can still be matched with the logs.
        changes.update(HISTORY_ORIGIN_CLEARED)
    else:
        changes.update(scrub.current)
        changes["updated_at"] = timezone.now()
    return changes


def close_calls(subject: Subject) -> int:
    """Close every call of the subject to provider reports: a late webhook delivery then
    finds the result recorded and writes nothing back."""
    return (
        subject.part(AICall)
        .rows()
        .filter(result_recorded_at__isnull=True)
        .update(result_recorded_at=timezone.now())
    )


def remove_tags(subject: Subject, identifiers: Identifiers) -> int:
    """Settle the subject's live tags that name the person, before the scrub; how many
    were deleted.

    A tag is the organization's label, shared by leads, its name unique among the live
    ones; one that names the person is personal data. One that no other lead carries is
    the person's own: it is taken off them and deleted. One that other leads carry keeps
    serving them under its scrubbed name (`_take_scrubbed_name`), unless that name is
    another live tag's (another person's, erased before or meanwhile, or one of this
    person's scrubbed to the same name): then it is folded into that tag, whose leads it
    becomes, and deleted. The scrub overwrites the names of all of them, history
    included, as of every tag of the subject."""
    pattern = identifiers.pattern()
    if not pattern:
        return 0
    scrubbed_name = _regexp_replace(Tag, "name", pattern)
    naming = list(
        subject.part(Tag)
        .rows()
        .filter(deleted_at__isnull=True, name__iregex=pattern)
        .annotate(scrubbed=Lower(scrubbed_name))
        # Names taken in one order by every erasure: two never wait for each other.
        .order_by("scrubbed", "pk")
    )
    others = Tag.objects.exclude(pk__in=[tag.pk for tag in naming])
    kept: dict[str, Tag] = {}
    for tag in naming:
        shared = LeadTag.objects.filter(tag=tag).exclude(lead_id__in=subject.lead_ids).exists()
        into = kept.get(tag.scrubbed)
        if shared and into is None:
            into = _take_scrubbed_name(tag, scrubbed_name, others)
            if into is None:
                kept[tag.scrubbed] = tag
                continue
        tag_remove(tag=tag, into=into if shared else None)
    return len(naming) - len(kept)


def _take_scrubbed_name(tag: Tag, scrubbed_name: Func, others) -> Tag | None:
    """Rename the tag to its scrubbed name now (None), or the live tag that has that name,
    to fold it into. The unique rule on live names decides between sessions: a tag given
    that name by another session (an erasure, a tag created or renamed) and not committed
    yet makes the rename wait; committed, it is the one folded into, as it would be a
    moment later; rolled back, the name is free. A name still taken after a few rounds is
    held by none of `others` (one of the subject's own tags, named what another scrubs
    to): the duplicate is raised rather than tried forever."""
    attempts = NAME_ATTEMPTS
    while (into := others.filter(name__iexact=tag.scrubbed).first()) is None:
        try:
            with transaction.atomic():
                Tag.objects.filter(pk=tag.pk).update(name=scrubbed_name)
            return None
        except IntegrityError as exc:
            attempts -= 1
            if not (outage.is_duplicate(exc) and attempts):
                raise
    return into


def _scrub_part(part: Part, pattern: str) -> dict[str, int]:
    spec = SCRUBS[part.model]
    historical = history_model(part.model)
    return {
        "records": part.rows().update(**_changes(part.model, spec, pattern, history=False)),
        "history": part.history().update(**_changes(historical, spec, pattern, history=True))
        if historical
        else 0,
    }


def scrub(subject: Subject, identifiers: Identifiers) -> dict[str, dict[str, int]]:
    """Overwrite the subject's personal data; returns rows changed per model."""
    pattern = identifiers.pattern()
    return {part.label: _scrub_part(part, pattern) for part in subject if part.model in SCRUBS}


def scrub_request(subject_request: SubjectRequest) -> None:
    """Clear what one request holds of its person (its notes, history included), as the
    erasure of the person clears their requests: for a request that comes after it."""
    match = Q(id=subject_request.pk)  # `pk` would be the history id on history rows
    _scrub_part(Part(SubjectRequest, match, subject_request.organization_id), pattern="")


def remove_attachments(subject: Subject) -> int:
    """Delete for good every file attached to one of the subject's records, with its
    history; the files leave the storage when the erasure commits."""
    records = {
        name: subject.part(record_model(name)).rows().values("pk") for name in RECORD_RESOURCES
    }
    return attachments_erase(records=records)


def remove_notifications(subject: Subject) -> int:
    """Delete for good the notifications about any of the subject's records: their
    messages name the business or the person."""
    return sum(
        notifications_erase(target_type=part.label, targets=part.rows().values("pk"))
        for part in subject
    )
