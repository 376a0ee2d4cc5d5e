"""The suppression list: emails and phones of erased people, addresses mail bounced
from, and addresses whose owners unsubscribed, as salted hashes.

Lead creation, CSV import and the AI call webhook ask `is_suppressed` (or call
`ensure_not_suppressed`) so that an erased person is flagged instead of silently
re-created. A bounce or an unsubscribe only stops mail to its address (`mailing`, which
asks `mail_suppression`): the person may still be, or become, a lead. Values are
normalized with the leads app's own normalizers, so every spelling of a number or address
gives the same hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import Q

from compliance.choices import SuppressionKind, SuppressionReason
from compliance.models import SuppressionEntry
from leads.normalize import normalize_email, normalize_phone
from smartweb.tenancy.context import NoOrganizationContext, current_organization_id

# The reasons that stand for a person who asked to be forgotten or left alone.
FORGETS_PERSON = (SuppressionReason.ERASURE, SuppressionReason.OBJECTION)

SUPPRESSED_MESSAGE = (
    "This email or phone belongs to a person whose data was erased at their request; "
    "it is on the suppression list and the person cannot be re-created."
)


class SuppressedContact(ValidationError):
    """A lead or import row carries a suppressed email or phone (HTTP 400)."""

    def __init__(self):
        super().__init__(SUPPRESSED_MESSAGE, code="suppressed")


_NORMALIZERS = {SuppressionKind.EMAIL: normalize_email, SuppressionKind.PHONE: normalize_phone}


def _normalized(kind: str, value: str | None) -> str:
    try:
        return _NORMALIZERS[kind](value or "")
    except ValidationError:
        # Unusable input is refused by the caller's own validation, not here.
        return ""


def value_hash(kind: str, value: str | None) -> str:
    """The stored digest of `value` in the current organization ('' for no value)."""
    normalized = _normalized(kind, value)
    organization_id = current_organization_id()
    if organization_id is None:
        raise NoOrganizationContext("The suppression list belongs to an organization.")
    if not normalized:
        return ""
    return hashlib.sha256(f"{organization_id}:{kind}:{normalized}".encode()).hexdigest()


def _hashes(kind: str, values: Iterable[str | None]) -> set[str]:
    return {digest for value in values if (digest := value_hash(kind, value))}


def _entries(emails: Iterable[str | None], phones: Iterable[str | None]) -> set[tuple[str, str]]:
    return {
        (kind, digest)
        for kind, values in ((SuppressionKind.EMAIL, emails), (SuppressionKind.PHONE, phones))
        for digest in _hashes(kind, values)
    }


def _matching(entries: set[tuple[str, str]], *, for_mail: bool = True):
    query = Q(pk__in=[])
    for kind, digest in entries:
        query |= Q(kind=kind, value_hash=digest)
    rows = SuppressionEntry.objects.filter(query)
    return rows if for_mail else rows.filter(reason__in=FORGETS_PERSON)


def any_suppressed(
    *,
    emails: Iterable[str | None] = (),
    phones: Iterable[str | None] = (),
    for_mail: bool = False,
) -> bool:
    entries = _entries(emails, phones)
    return bool(entries) and _matching(entries, for_mail=for_mail).exists()


def is_suppressed(
    *, email: str | None = None, phone: str | None = None, for_mail: bool = False
) -> bool:
    """Is this email or phone on the current organization's suppression list (an erased
    or objecting person; `for_mail`: an address mail bounced from or whose owner
    unsubscribed as well)?"""
    return any_suppressed(emails=[email], phones=[phone], for_mail=for_mail)


def mail_suppression(email: str | None) -> str | None:
    """Why mail to this address is suppressed (a `SuppressionReason`), or None."""
    entries = _entries([email], ())
    return _reason(entries) if entries else None


def mail_suppression_of_digest(digest: str) -> str | None:
    """The same for an address known by its digest alone (an unsubscribe link's)."""
    return _reason({(SuppressionKind.EMAIL, digest)})


def _reason(entries: set[tuple[str, str]]) -> str | None:
    return _matching(entries).values_list("reason", flat=True).first()


class SuppressionList:
    """The current organization's erased and objecting people loaded once, to check many
    rows (CSV imports)."""

    def __init__(self):
        rows = SuppressionEntry.objects.filter(reason__in=FORGETS_PERSON)
        self._entries = set(rows.values_list("kind", "value_hash"))

    def matches(
        self, *, emails: Iterable[str | None] = (), phones: Iterable[str | None] = ()
    ) -> bool:
        return bool(self._entries) and not self._entries.isdisjoint(_entries(emails, phones))


def ensure_not_suppressed(
    *, emails: Iterable[str | None] = (), phones: Iterable[str | None] = ()
) -> None:
    """Raise `SuppressedContact` when any of the values is suppressed."""
    if any_suppressed(emails=emails, phones=phones):
        raise SuppressedContact()


def suppress(
    *,
    emails: Iterable[str | None] = (),
    phones: Iterable[str | None] = (),
    reason: str = SuppressionReason.ERASURE,
    subject_request=None,
) -> int:
    """Add the values to the list; returns how many entries are new. An erasure or an
    objection takes over an address already listed for a bounce or an unsubscribe."""
    return _add(_entries(emails, phones), reason=reason, subject_request=subject_request)


def suppress_email_digest(digest: str, *, reason: str) -> int:
    """Add an address known by its digest alone (`value_hash`, as an unsubscribe link
    carries it); 1 when it is new."""
    return _add({(SuppressionKind.EMAIL, digest)}, reason=reason)


def _add(entries: set[tuple[str, str]], *, reason: str, subject_request=None) -> int:
    if not entries:
        return 0
    listed = _matching(entries)
    if reason in FORGETS_PERSON:
        listed.exclude(reason__in=FORGETS_PERSON).update(
            reason=reason, subject_request=subject_request
        )
    new = entries - set(listed.values_list("kind", "value_hash"))
    SuppressionEntry.objects.bulk_create(
        [
            SuppressionEntry(
                organization_id=current_organization_id(),
                kind=kind,
                value_hash=digest,
                reason=reason,
                subject_request=subject_request,
            )
            for kind, digest in sorted(new)
        ],
        ignore_conflicts=True,
    )
    return len(new)
