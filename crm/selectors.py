"""Read paths of the CRM with non-trivial queries: the pipeline board, the forecast and
the dashboard. Each takes the requesting user and returns only what the permission
service lets them see, in a fixed number of queries (no N+1)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    CharField,
    Count,
    DateField,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.models import Membership, User
from crm.choices import AICallStatus, OpportunityStatus
from crm.models import (
    AICall,
    AICallRollup,
    LeadRollup,
    Opportunity,
    OpportunityRollup,
    Pipeline,
    PipelineStage,
    Proposal,
)
from crm.rollups import REPORTING_ZONE, period_q
from crm.services import organization_currency
from smartweb import access, listing
from smartweb.rbac import Action, Resource
from smartweb.replica import reporting_reads
from smartweb.tenancy.context import current_organization_id

ZERO = Decimal("0.00")


def active_members() -> QuerySet[User]:
    """Users who may own or be assigned CRM work: active members of the current
    organization (none without an organization context)."""
    members = Membership.objects.filter(is_active=True).values("user_id")
    return User.objects.filter(pk__in=members, is_active=True).order_by("email")


def visible_opportunities(user) -> QuerySet[Opportunity]:
    return access.visible(user, Action.READ, Opportunity.objects.all())


# Each rollup's resource, its owner column (for the permission service's scope) and its
# count column.
_ROLLUP_OWNERS = {
    OpportunityRollup: (Resource.OPPORTUNITIES, "owner_id", "deals"),
    LeadRollup: (Resource.LEADS, "assigned_to_id", "leads"),
    AICallRollup: (Resource.AI_CALLS, None, "calls"),  # owned through the lead: not kept
}


def visible_rollups(
    model, user, first: dt.date | None, last: dt.date | None, *, owner_id=None
) -> QuerySet | None:
    """The organization's rollup rows (crm.rollups) counting the days from `first` to
    `last` (`period_q`) and only rows the user may read, narrowed to one owner's when
    `owner_id` is given; None when the rollup cannot say which (object grants, or a scope
    through a parent): read the facts then. Whoever sees every owner's rows reads the
    months' totals. Rows that count nothing are left out: the facts would not show their
    keys."""
    resource, owner_field, counted = _ROLLUP_OWNERS[model]
    owners = access.owners_in_scope(user, Action.READ, resource)
    if owners is None or (owner_field is None and (owner_id or owners != access.ALL_OWNERS)):
        return None
    rows = model.objects.filter(organization_id=current_organization_id(), **{f"{counted}__gt": 0})
    if owners != access.ALL_OWNERS:
        rows = rows.filter(**{f"{owner_field}__in": owners})
    if owner_id:
        rows = rows.filter(**{owner_field: owner_id})
    every_owner = owner_field is not None and owners == access.ALL_OWNERS and not owner_id
    months = model.Grain.TOTAL if every_owner else model.Grain.MONTH
    return rows.filter(period_q(first, last, months=months))


def lead_count_rows(user, *, statuses=(), sources=(), owner_id=None) -> QuerySet | None:
    """The lead rollup's counts (one column, `leads`) that add up to how many live leads
    the user may read, of these statuses and sources (any when empty) and assigned to
    `owner_id` (anyone when None): exact, as its triggers keep it in the statement that
    writes the leads. None when the rollup cannot tell (object grants add leads one by
    one). A few hundred rollup rows where counting the leads themselves reads up to the
    list's cap of 10,000 index entries; a list sums them with its page
    (smartweb.api.pagination)."""
    rows = visible_rollups(LeadRollup, user, None, None, owner_id=owner_id)
    if rows is None:
        return None
    if statuses:
        rows = rows.filter(status__in=statuses)
    if sources:
        rows = rows.filter(source__in=sources)
    return rows.values("leads")


def deal_sums(rows: QuerySet) -> dict:
    """The count (`n`), value and weighted value of opportunities or of their rollup."""
    count = Sum("deals") if rows.model is OpportunityRollup else Count("pk")
    return {"n": count, "value": Sum("value"), "weighted": Sum("weighted_value")}


def with_names(
    opportunities: QuerySet[Opportunity], *, stage_name: bool = True
) -> QuerySet[Opportunity]:
    """Each opportunity with its lead's company name (`listed_lead_name`, the opportunity's
    own column, which the database keeps: a sub-select through the lead took about half of
    the board's 300 cards at 1M leads), its owner as a JSON object of `User.SUMMARY_FIELDS`
    (`listed_owner`) and, unless the caller has the stage already (the board), its stage
    name (`listed_stage_name`), read in the opportunity query by id (smartweb.listing).
    Joined to stages, leads and companies under RLS, the top opportunities were read stage
    by stage (380 ms instead of ~1 ms at 1M leads); the owner joined in was a user model
    built per card (bench/README.md)."""
    names = {
        # Kept by the database from the lead and its company (crm 0019, ADR 0038).
        "listed_lead_name": listing.listed(
            listing.kept_column(Opportunity, "listed_lead_name"), [], CharField()
        ),
        "listed_owner": listing.listed(listing.user_summary(Opportunity, "owner"), []),
    }
    if stage_name:
        names["listed_stage_name"] = listing.listed(
            _stage_name_sql(), [current_organization_id()], CharField()
        )
    return opportunities.annotate(**names)


@functools.cache
def _stage_name_sql() -> str:
    return (
        f"(SELECT s.name FROM {PipelineStage._meta.db_table} s"
        f" WHERE s.organization_id = %s AND s.id = {listing.column(Opportunity, 'stage')})"
    )


def with_line_items(proposals: QuerySet[Proposal]) -> QuerySet[Proposal]:
    """Proposals with their line items in position order, prefetched in one query into a
    plain list per proposal (`listed_line_items`). Not the related manager's cache: that
    builds a manager and a queryset per proposal when prefetching and again when
    serializing, ~40% of a list of 50 proposals (bench/README.md)."""
    return proposals.prefetch_related(Prefetch("line_items", to_attr="listed_line_items"))


@dataclass
class Money:
    """Sums per currency: amounts in different currencies are never added together."""

    count: int = 0
    by_currency: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def add(self, currency: str, count: int, value: Decimal, weighted: Decimal) -> None:
        self.count += count
        entry = self.by_currency.setdefault(currency, {"value": ZERO, "weighted_value": ZERO})
        entry["value"] += value or ZERO
        entry["weighted_value"] += weighted or ZERO

    def totals(self) -> list[dict]:
        return [{"currency": c, **amounts} for c, amounts in sorted(self.by_currency.items())]


@dataclass
class BoardColumn:
    stage: PipelineStage
    money: Money = field(default_factory=Money)
    opportunities: list[Opportunity] = field(default_factory=list)


@dataclass(frozen=True)
class BoardFilters:
    """What the board is narrowed to: one owner's deals, an expected close date range."""

    owner_id: object = None
    closes_from: dt.date | None = None
    closes_until: dt.date | None = None

    def apply(self, opportunities: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
        if self.owner_id is not None:
            opportunities = opportunities.filter(owner_id=self.owner_id)
        if self.closes_from is not None:
            opportunities = opportunities.filter(expected_close_date__gte=self.closes_from)
        if self.closes_until is not None:
            opportunities = opportunities.filter(expected_close_date__lte=self.closes_until)
        return opportunities


def _board_opportunities(pipeline: Pipeline, user, filters: BoardFilters | None):
    opportunities = visible_opportunities(user).filter(pipeline=pipeline)
    return filters.apply(opportunities) if filters is not None else opportunities


def _stage_money(pipeline: Pipeline, user, filters: BoardFilters | None) -> dict:
    """stage id -> Money of the board's opportunities, in one aggregate query: of the
    rollup's rows by expected close date (crm.rollups) when it can say what the user
    sees, else of the opportunities."""
    filters = filters or BoardFilters()
    rows = visible_rollups(
        OpportunityRollup,
        user,
        filters.closes_from,
        filters.closes_until,
        owner_id=filters.owner_id,
    )
    if rows is None:
        rows = _board_opportunities(pipeline, user, filters)
    else:
        rows = rows.filter(kind=OpportunityRollup.Kind.CLOSES, pipeline_id=pipeline.pk)
    money: dict = defaultdict(Money)
    for row in rows.order_by().values("stage_id", "currency").annotate(**deal_sums(rows)):
        money[row["stage_id"]].add(row["currency"], row["n"], row["value"], row["weighted"])
    return money


def board_money(*, pipeline: Pipeline, user, filters: BoardFilters | None = None) -> dict:
    """stage id -> count and sums per currency of the deals the user may see on the board
    (after a move, the totals as they now are). One query."""
    return _stage_money(pipeline, user, filters)


def pipeline_board(
    *, pipeline: Pipeline, user, per_stage: int = 50, filters: BoardFilters | None = None
) -> list[BoardColumn]:
    """The pipeline's stages in order, each with the count and sums of the opportunities
    the user may see (narrowed by `filters`) and its `per_stage` biggest by weighted
    value. Three queries, however many opportunities: the stages with the ids of their top
    cards, the sums, the cards with their lead and stage names and their owners
    (`with_names`).

    A stage's top ids are a correlated `ARRAY(SELECT id … ORDER BY … LIMIT n)` read from
    the `crm_opp_board_stage_top` index alone (it carries the ids): one small plan, where a
    UNION of a subquery per stage took milliseconds to plan. Nothing is joined to the
    opportunities: under RLS the planner cannot size a joined tenant table and would join
    every opportunity of a large organization's stage before taking its top rows."""
    opportunities = _board_opportunities(pipeline, user, filters)
    top_ids = opportunities.filter(stage_id=OuterRef("pk")).order_by(
        "-weighted_value", "-created_at"
    )
    stages = PipelineStage.objects.filter(pipeline=pipeline).annotate(
        top_ids=ArraySubquery(top_ids.values("pk")[:per_stage])
    )
    columns = {stage.pk: BoardColumn(stage) for stage in stages}
    for stage_id, money in _stage_money(pipeline, user, filters).items():
        if stage_id in columns:
            columns[stage_id].money = money
    wanted = [pk for column in columns.values() for pk in column.stage.top_ids]
    # The cards by the ids just chosen under the user's scope and filters, which are not
    # applied again: repeated, they let the planner read every deal of a manager's team
    # by owner and keep the 300 (19-62 ms at 1M leads) instead of 300 look-ups by id.
    # Each card's stage is its column's (set below): its name is not read again per card.
    cards = with_names(Opportunity.objects.all(), stage_name=False).in_bulk(wanted)
    for column in columns.values():
        for pk in column.stage.top_ids:
            if pk in cards:
                opportunity = cards[pk]
                opportunity.stage = column.stage
                column.opportunities.append(opportunity)
    return list(columns.values())


class MonthOfDate(Func):
    """The first day of a date's month. `TruncMonth` of a date has PostgreSQL cast it to a
    timestamp with time zone and truncate that in the session's zone, row by row: 15% of
    the forecast's aggregate over the largest organization's 13,000 open deals (pgbench,
    17.1 to 14.5 ms at 1M leads). A date has no zone to respect."""

    template = "DATE_TRUNC('month', %(expressions)s::timestamp)::date"
    output_field = DateField()


def _month_starts(first: dt.date, months: int) -> list[dt.date]:
    starts, year, month = [], first.year, first.month
    for _ in range(months):
        starts.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


def open_and_won_by_month(
    user, *, first: dt.date, end: dt.date, owner_id=None
) -> tuple[list[dict], list[dict]]:
    """Per month (its first day) and currency from `first` until `end` (excluded): the open
    deals expected to close in it, and the deals won in it, each with their count (`n`),
    value and weighted value. Of the rollup (crm.rollups) when it can say what the user
    sees (one query), else of the opportunities (two)."""
    rows = visible_rollups(
        OpportunityRollup, user, first, end - dt.timedelta(days=1), owner_id=owner_id
    )
    if rows is not None:
        kinds = OpportunityRollup.Kind
        monthly = (
            rows.filter(
                Q(kind=kinds.CLOSES, status=OpportunityStatus.OPEN)
                | Q(kind=kinds.CLOSED, status=OpportunityStatus.WON)
            )
            .annotate(month=MonthOfDate("day"))
            .values("kind", "month", "currency")
            .annotate(**deal_sums(rows))
            .order_by()
        )
        by_kind: dict[str, list[dict]] = {kinds.CLOSES: [], kinds.CLOSED: []}
        for row in monthly:
            by_kind[row.pop("kind")].append(row)
        return by_kind[kinds.CLOSES], by_kind[kinds.CLOSED]
    deals = visible_opportunities(user)
    if owner_id:
        deals = deals.filter(owner=owner_id)
    opened = (
        deals.open()
        .filter(expected_close_date__gte=first, expected_close_date__lt=end)
        .annotate(month=MonthOfDate("expected_close_date"))
        .values("month", "currency")
        .annotate(**deal_sums(deals))
        .order_by()
    )
    tz = REPORTING_ZONE  # the rollups' months, whatever the organization's zone
    won = (
        deals.filter(
            status=OpportunityStatus.WON,
            closed_at__gte=dt.datetime.combine(first, dt.time(), tzinfo=tz),
            closed_at__lt=dt.datetime.combine(end, dt.time(), tzinfo=tz),
        )
        .annotate(month=TruncMonth("closed_at", tzinfo=tz))
        .values("month", "currency")
        .annotate(**deal_sums(deals))
        .order_by()
    )
    won_by_month = [{**row, "month": timezone.localtime(row["month"], tz).date()} for row in won]
    return list(opened), won_by_month


@reporting_reads()
def forecast(*, user, months: int = 6, today: dt.date | None = None) -> list[dict]:
    """Per month from this one: open opportunities expected to close in it (count, value,
    weighted value) and opportunities won in it, per currency (`open_and_won_by_month`)."""
    today = today or timezone.localdate()
    starts = _month_starts(today.replace(day=1), months + 1)
    first, end = starts[0], starts[-1]
    buckets: dict[tuple[dt.date, str], dict] = defaultdict(
        lambda: {
            "open_count": 0,
            "value": ZERO,
            "weighted_value": ZERO,
            "won_count": 0,
            "won_value": ZERO,
        }
    )
    opened, won = open_and_won_by_month(user, first=first, end=end)
    for row in opened:
        bucket = buckets[(row["month"], row["currency"])]
        bucket.update(open_count=row["n"], value=row["value"], weighted_value=row["weighted"])
    for row in won:
        bucket = buckets[(row["month"], row["currency"])]
        bucket.update(won_count=row["n"], won_value=row["value"])
    rows = []
    for month in starts[:-1]:
        currencies = sorted(c for (m, c) in buckets if m == month) or [organization_currency()]
        rows.extend(
            {"month": month.strftime("%Y-%m"), "currency": currency, **buckets[(month, currency)]}
            for currency in currencies
        )
    return rows


@reporting_reads()
def call_outcomes(calls: QuerySet[AICall]) -> dict:
    """Calls by status and by outcome: counts only (campaign statistics, a reporting read)."""
    return _outcomes(calls, Count("pk"))


def campaign_call_outcomes(*, user, campaign) -> dict:
    """The campaign's calls the user may see, by status and by outcome: counted by the
    rollup's month rows (crm.rollups) when it can say which calls those are (a user who
    sees them all), else from the calls."""
    rows = visible_rollups(AICallRollup, user, None, None)
    if rows is None:
        return call_outcomes(access.visible(user, Action.READ, campaign.calls.all()))
    return _outcomes(rows.filter(campaign_id=campaign.pk), Sum("calls"))


def _outcomes(rows: QuerySet, count) -> dict:
    by_status = list(
        rows.order_by().values("status").annotate(count=count).order_by("-count", "status")
    )
    by_outcome = list(
        rows.exclude(outcome="")
        .order_by()
        .values("outcome")
        .annotate(count=count)
        .order_by("-count", "outcome")
    )
    completed = sum(r["count"] for r in by_status if r["status"] == AICallStatus.COMPLETED)
    return {"by_status": by_status, "by_outcome": by_outcome, "completed": completed}
