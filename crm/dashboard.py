"""Read paths of the sales dashboard, filtered by a date range and an owner. Each takes the
requesting user and reads only what the permission service lets them see. Money is summed
per currency and never added across currencies; codes come with their choices' labels.

Each reads the organization's rollups (crm.rollups) when they can say what the user sees,
and the rows themselves otherwise (object grants; the calls of one owner's leads).

The range means, per chart: the months shown (won in the month, or open and expected to
close in it), the deals opened in it (funnel), the leads created in it (sources), the
calls placed in it (outcomes).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.choices import AICallStatus, CallOutcome, OpportunityStatus
from crm.models import AICall, AICallRollup, LeadRollup, OpportunityRollup, Pipeline
from crm.rollups import REPORTING_ZONE
from crm.selectors import (
    ZERO,
    Money,
    deal_sums,
    open_and_won_by_month,
    visible_opportunities,
    visible_rollups,
)
from leads.choices import LeadSource, LeadStatus
from leads.models import Lead
from smartweb import access
from smartweb.rbac import Action

MAX_MONTHS = 24


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included; optionally one owner's (a user id)."""

    start: dt.date
    end: dt.date
    owner_id: object = None

    @classmethod
    def default(cls, today: dt.date | None = None) -> Period:
        """The last six months and the next six: what was won, and what is coming."""
        month = (today or timezone.localdate()).replace(day=1)
        return cls(start=_add_months(month, -5), end=_add_months(month, 7) - dt.timedelta(days=1))

    def months(self) -> list[dt.date]:
        count = min(month_count(self.start, self.end), MAX_MONTHS)
        return [_add_months(self.start.replace(day=1), n) for n in range(count)]

    def moments(self) -> tuple[dt.datetime, dt.datetime]:
        """The range as [start, end) instants, its days those of the rollups (UTC, not the
        organization's zone: the figures are one whichever the dashboard reads)."""
        zone = REPORTING_ZONE
        return (
            dt.datetime.combine(self.start, dt.time(), tzinfo=zone),
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=zone),
        )


def month_count(start: dt.date, end: dt.date) -> int:
    """How many calendar months the range touches."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _owned(queryset: QuerySet, owner_field: str, period: Period) -> QuerySet:
    return queryset.filter(**{owner_field: period.owner_id}) if period.owner_id else queryset


def _rollups(model, user, period: Period) -> QuerySet | None:
    return visible_rollups(model, user, period.start, period.end, owner_id=period.owner_id)


def totals(*, user, period: Period) -> dict[str, Money]:
    """The open pipeline expected to close in the range, and what was won in it."""
    rows = _rollups(OpportunityRollup, user, period)
    if rows is not None:
        kinds = OpportunityRollup.Kind
        rows = rows.filter(
            Q(kind=kinds.CLOSES, status=OpportunityStatus.OPEN)
            | Q(kind=kinds.CLOSED, status=OpportunityStatus.WON)
        )
    else:
        starts, ends = period.moments()
        rows = _owned(visible_opportunities(user), "owner", period).filter(
            Q(
                status=OpportunityStatus.OPEN,
                expected_close_date__gte=period.start,
                expected_close_date__lte=period.end,
            )
            | Q(status=OpportunityStatus.WON, closed_at__gte=starts, closed_at__lt=ends)
        )
    found = {"open": Money(), "won": Money()}
    for row in rows.order_by().values("status", "currency").annotate(**deal_sums(rows)):
        found[row["status"]].add(row["currency"], row["n"], row["value"], row["weighted"])
    return found


def by_month(*, user, period: Period) -> dict[str, list[dict]]:
    """Per currency, per month of the range: the weighted value of the open deals expected
    to close in it and the value won in it (`open_and_won_by_month`)."""
    months = period.months()
    found: dict[str, dict[dt.date, dict]] = defaultdict(
        lambda: {m: {"month": m, "weighted_value": ZERO, "won_value": ZERO} for m in months}
    )
    last = _add_months(months[-1], 1) if months else period.start
    opened, won = open_and_won_by_month(
        user, first=period.start, end=last, owner_id=period.owner_id
    )
    for row in opened:
        found[row["currency"]][row["month"]]["weighted_value"] = row["weighted"] or ZERO
    for row in won:
        if row["month"] in months:
            found[row["currency"]][row["month"]]["won_value"] = row["value"] or ZERO
    return {currency: list(found[currency].values()) for currency in sorted(found)}


def funnel(*, user, pipeline: Pipeline, period: Period) -> list[dict]:
    """Per stage of the pipeline, the deals opened in the range: how many, and their
    weighted value per currency (`money`)."""
    rows = _rollups(OpportunityRollup, user, period)
    if rows is not None:
        rows = rows.filter(kind=OpportunityRollup.Kind.CREATED, pipeline_id=pipeline.pk)
    else:
        starts, ends = period.moments()
        rows = _owned(visible_opportunities(user), "owner", period).filter(
            pipeline=pipeline, created_at__gte=starts, created_at__lt=ends
        )
    per_stage: dict = defaultdict(Money)
    for row in rows.order_by().values("stage_id", "currency").annotate(**deal_sums(rows)):
        per_stage[row["stage_id"]].add(row["currency"], row["n"], row["value"], row["weighted"])
    return [
        {"stage": stage, "count": per_stage[stage.pk].count, "money": per_stage[stage.pk]}
        for stage in pipeline.stages.all()
    ]


def lead_sources(*, user, period: Period) -> list[dict]:
    """Leads created in the range per source (its label), and how many were converted."""
    rows = _rollups(LeadRollup, user, period)
    if rows is not None:
        counted = {
            "count": Sum("leads"),
            "converted": Coalesce(Sum("leads", filter=Q(status=LeadStatus.CONVERTED)), 0),
        }
    else:
        starts, ends = period.moments()
        rows = _owned(
            access.visible(user, Action.READ, Lead.objects.all()), "assigned_to", period
        ).filter(created_at__gte=starts, created_at__lt=ends)
        counted = {
            "count": Count("pk"),
            "converted": Count("pk", filter=Q(status=LeadStatus.CONVERTED)),
        }
    rows = rows.order_by().values("source").annotate(**counted).order_by("-count", "source")
    return [{**row, "label": _label(LeadSource, row["source"])} for row in rows]


def call_outcomes(*, user, period: Period) -> dict[str, list[dict]]:
    """Calls placed in the range by outcome and by status, with their labels. The owner
    of a call is its lead's (a sub-select of their leads, as the permission service)."""
    rows = _rollups(AICallRollup, user, period)
    if rows is not None:
        count = Sum("calls")
    else:
        starts, ends = period.moments()
        rows = access.visible(user, Action.READ, AICall.objects.all()).filter(
            created_at__gte=starts, created_at__lt=ends
        )
        if period.owner_id:
            rows = rows.filter(
                lead__in=Lead.objects.filter(assigned_to=period.owner_id).values("pk")
            )
        count = Count("pk")
    counted = list(rows.order_by().values("status", "outcome").annotate(count=count).order_by())
    return {
        "by_outcome": _counted(counted, "outcome", CallOutcome),
        "by_status": _counted(counted, "status", AICallStatus),
    }


def _counted(rows: list[dict], key: str, choices) -> list[dict]:
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if row[key]:
            counts[row[key]] += row["count"]
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{key: code, "label": _label(choices, code), "count": n} for code, n in ordered]


def _label(choices, code: str) -> str:
    """The choice's label; a code no longer among the choices is shown as it is."""
    try:
        return str(choices(code).label)
    except ValueError:
        return code
