"""Reading consent: a person's current choice per purpose is their latest record.

The contact consent is mirrored on `Lead.consent_to_contact`, which campaigns and the AI
call jobs already check; "do not sell" (CCPA) is the latest `data_sale` record being a
withdrawal, and `exclude_do_not_sell` keeps such leads out of bulk exports.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import OuterRef, QuerySet, Subquery

from compliance.choices import ConsentPurpose
from compliance.models import ConsentRecord


def latest(purpose: str, lead_ref) -> QuerySet:
    """A lead's records for `purpose`, the current one first."""
    return ConsentRecord.objects.filter(lead_id=lead_ref, purpose=purpose).order_by(
        "-recorded_at", "-created_at"
    )


def current_consents(lead_ids: Iterable) -> dict[str, dict | None]:
    """purpose -> the latest record's {granted, recorded_at, source} across `lead_ids`."""
    result: dict[str, dict | None] = {}
    for purpose in ConsentPurpose.values:
        result[purpose] = (
            ConsentRecord.objects.filter(lead_id__in=list(lead_ids), purpose=purpose)
            .order_by("-recorded_at", "-created_at")
            .values("granted", "recorded_at", "source")
            .first()
        )
    return result


def do_not_sell_leads() -> QuerySet:
    """Ids of the leads whose latest `data_sale` record withdraws it (for `pk__in`)."""
    current = latest(ConsentPurpose.DATA_SALE, OuterRef("lead_id")).values("pk")[:1]
    return ConsentRecord.objects.filter(
        purpose=ConsentPurpose.DATA_SALE, granted=False, pk=Subquery(current)
    ).values("lead_id")


def exclude_do_not_sell(leads: QuerySet) -> QuerySet:
    """`leads` without those who opted out of the sale or sharing of their data."""
    return leads.exclude(pk__in=do_not_sell_leads())


def is_do_not_sell(lead) -> bool:
    current = latest(ConsentPurpose.DATA_SALE, lead.pk).values_list("granted", flat=True).first()
    return current is False
