"""Is this lead erased? One rule for every writer of a lead and of the rows hanging off it.

A lead is erased once an erasure of its person has completed: a completed erasure
request names it, as the request's lead or among the leads merged into that lead which
the erasure covered (`result["lead_ids"]`). An erasure is final: nothing may be written
to an erased lead, its company or its rows again (interactions, enrichments, consent
records, tasks, opportunities with their proposals and contracts, files attached to any
of them); deleting stays possible, since it adds nothing. Nor is the person erased again:
`erase_subject` finds the erasure that was (`erasure_of`) and refuses (`AlreadyErased`),
or answers with it a request of theirs that came since.

Ordering with a running erasure. `erase_subject` takes its leads `FOR UPDATE` before it
reads or writes anything, and completes its request in the same transaction. A writer
calls `refuse_if_erased` before it locks or writes anything of the lead's: that takes
the lead's row lock (`FOR KEY SHARE`, what inserting a row that references the lead takes
anyway, or `FOR UPDATE` for a writer that updates the lead), then looks for a completed
erasure. A writer that got there first holds its lock until it commits, so the erasure
waits for it and scrubs what it wrote; a writer that comes while the erasure runs waits
for it and is then refused (its next statement sees the committed request). A bulk
action (`smartweb.writes.locked_rows`) locks all of its leads `FOR UPDATE` in id order,
as `lock_leads` does, each with its company, which belongs to that lead alone: it and an
erasure wait for each other, never deadlock (tests/compliance/test_erasure_races_bulk.py).
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Iterable
from functools import reduce
from typing import NamedTuple

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from compliance.choices import RequestKind, RequestStatus
from compliance.models import SubjectRequest
from crm.models import Contract, Opportunity, Proposal
from leads.models import Company, Lead
from smartweb import time_zones
from smartweb.errors import Refusal
from smartweb.tenancy.context import current_organization_id

ERASED_MESSAGE = (
    "This lead's person was erased at their request (GDPR): the lead and everything "
    "attached to it can no longer be changed, and nothing can be added to it."
)


class LeadErased(Refusal):
    """A write to an erased lead or to one of its rows (HTTP 409, code `erased`)."""

    code = "erased"

    def __init__(self, message: str = ERASED_MESSAGE):
        super().__init__(message)


class AlreadyErased(LeadErased):
    """An erasure of a person erased before (`erasure`, the request it answered): there
    is nothing left to erase, and it is not done again (HTTP 409, code `erased`)."""

    def __init__(self, erasure: SubjectRequest):
        day = timezone.localdate(erasure.completed_at, time_zones.organization_zone())
        super().__init__(
            f"This person was already erased on {day:%Y-%m-%d}: there is nothing left to erase."
        )


def _ids(leads: Iterable) -> list:
    return sorted({getattr(lead, "pk", lead) for lead in leads if lead is not None}, key=str)


class LockedLead(NamedTuple):
    """A lead's row as its lock found it: deleted, and the lead it was merged into."""

    deleted: bool
    merged_into_id: uuid.UUID | None


def lock_leads(leads: Iterable, *, for_update: bool) -> dict[str, LockedLead]:
    """Lock the leads' rows (given as leads or ids; soft-deleted ones too) until the
    transaction ends, in one order (no deadlock between two writers of the same leads).
    What the lock found of each, by id as text: the row as the writer that held the lock
    before committed it (a merge, a delete), read in the locking statement itself."""
    ids = _ids(leads)
    if not ids:
        return {}
    mode = "UPDATE" if for_update else "KEY SHARE"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, deleted_at IS NOT NULL, merged_into_id FROM {Lead._meta.db_table}"
            f" WHERE organization_id = %s AND id = ANY(%s) ORDER BY id FOR {mode}",
            [current_organization_id(), ids],
        )
        return {str(pk): LockedLead(deleted, into) for pk, deleted, into in cursor.fetchall()}


def _erasures_naming(ids: list):
    """The completed erasure requests that name any of the leads `ids`: as their lead, or
    among the leads merged into it that the erasure covered."""
    named = reduce(
        operator.or_, (Q(result__contains={"lead_ids": [str(pk)]}) for pk in ids), Q(lead__in=ids)
    )
    return SubjectRequest.objects.filter(
        named, kind=RequestKind.ERASURE, status=RequestStatus.COMPLETED
    )


def erased_lead_ids(leads: Iterable) -> set:
    """Those of the leads (leads or ids) that are erased."""
    ids = _ids(leads)
    if not ids:
        return set()
    found = _erasures_naming(ids).values_list("lead_id", "result")
    erased = {str(lead_id) for lead_id, _ in found} | {
        pk for _, result in found for pk in (result or {}).get("lead_ids", ())
    }
    return {pk for pk in ids if str(pk) in erased}


def is_erased(lead) -> bool:
    return bool(erased_lead_ids([lead]))


def erasure_of(lead) -> SubjectRequest | None:
    """The erasure request whose completion erased the lead (the first, were there more),
    or None while the lead is not erased."""
    return _erasures_naming([lead.pk]).order_by("completed_at").first()


def refuse_if_erased(*leads, for_update: bool = False) -> dict[str, LockedLead]:
    """Lock the leads (leads or ids; None is skipped) and refuse with `LeadErased` when
    any of them is erased; what the lock found of them (`lock_leads`). `for_update`: the
    caller goes on to update the lead itself (it would otherwise upgrade a shared lock,
    and two such writers deadlock)."""
    locked = lock_leads(leads, for_update=for_update)
    if erased_lead_ids(leads):
        raise LeadErased()
    return locked


def refuse_if_company_erased(company: Company, *, for_update: bool = False) -> None:
    """A company is its lead's: refused when a lead of it (deleted ones included) is."""
    refuse_if_erased(*_lead_ids_of_row(company), for_update=for_update)


def lock_company_leads(company: Company) -> None:
    """Lock the company's leads (deleted ones included) `FOR UPDATE`, before the company:
    a note's re-score, a lead's edit and a merge lock a lead, then its company, and a
    change of both taking the company first could deadlock with them."""
    lock_leads(_lead_ids_of_row(company), for_update=True)


def _lead_ids_of_row(row) -> list:
    """The leads a row hangs off: the lead itself, its company's leads (deleted ones
    included), a row of the lead (opportunity, task) or of its opportunity (proposal,
    contract)."""
    if isinstance(row, Lead):
        return [row.pk]
    if isinstance(row, Company):
        return list(Lead.all_objects.filter(company_id=row.pk).values_list("pk", flat=True))
    if isinstance(row, Proposal | Contract):
        leads = Opportunity.all_objects.filter(pk=row.opportunity_id)
        return list(leads.values_list("lead_id", flat=True))
    return [row.lead_id]


def refuse_if_row_erased(row, *, for_update: bool = False) -> None:
    """Refuse a write to a row of an erased lead (`_lead_ids_of_row`). Called before the
    row is locked, since the erasure locks the lead first. `for_update`: the write goes
    on to update the lead (`refuse_if_erased`)."""
    refuse_if_erased(*_lead_ids_of_row(row), for_update=for_update)


def row_is_erased(row) -> bool:
    """Does the row hang off an erased lead? Reads, locks nothing: for a page to offer no
    step that would be refused."""
    return bool(erased_lead_ids(_lead_ids_of_row(row)))


class ErasedRowStepsMixin:
    """For the admin of a lead's rows (before `StepsAdminMixin`): the page of a row of an
    erased lead offers no step, and says why."""

    def steps_closed(self, obj) -> str | None:
        return ERASED_MESSAGE if row_is_erased(obj) else None
