""" "My day": what a rep (or a manager, for their team) has to look at first, on the admin
home. Each list reads only the rows the permission service lets the user see, and each is
narrowed to the people asked for (the user alone, or their team). A fixed number of
queries, whatever the data: one per section (its first rows and their count), and the
sums of this month's deals in one grouped query (per currency, never added across).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum, Window
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from crm.choices import DUE_BY_TODAY, TASK_OPEN_STATUSES, CallOutcome, OpportunityStatus
from crm.models import AICall, Opportunity, Task
from crm.selectors import Money, with_names
from leads.choices import LeadStatus
from leads.models import Company, Lead
from smartweb import access, listing
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import current_membership

ME, TEAM = "me", "team"
LIMIT = 10


@dataclass
class Section:
    """Up to `LIMIT` rows of a list, and how many there are in all."""

    rows: list = field(default_factory=list)
    total: int = 0
    readable: bool = False
    list_url: str = ""  # the admin list of all of them

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class MyDay:
    who: str
    can_see_team: bool
    tasks: Section
    follow_ups: Section
    new_leads: Section
    deals: Section
    deal_money: Money
    now: dt.datetime

    @property
    def shown(self) -> bool:
        return any(s.readable for s in (self.tasks, self.follow_ups, self.new_leads, self.deals))


def can_see_team(user) -> bool:
    """A toggle to the team's day for a member of a team who reads its tasks or more."""
    membership = current_membership()
    if membership is None or membership.team_id is None:
        return False
    return access.scope_for(user, Action.READ, Resource.TASKS) in (Scope.TEAM, Scope.ALL)


def _people(user, who: str) -> list:
    if who == TEAM:
        return access.team_member_ids(current_membership())
    return [user.pk]


def _visible(user, queryset: QuerySet) -> tuple[QuerySet, bool]:
    readable = access.scope_for(user, Action.READ, queryset.model.rbac_resource) is not None
    return access.visible(user, Action.READ, queryset), readable


def _person(model) -> RawSQL:
    """Whose row it is (its assignee), for the team's day to say: in the row's query."""
    return listing.listed(listing.user_summary(model, "assigned_to"), [])


def _section(queryset: QuerySet, readable: bool, list_url: str) -> Section:
    """The first rows, each carrying the count of all (a window over the whole list,
    computed before the limit): one query for both."""
    if not readable:
        return Section()
    rows = list(queryset.annotate(listed_total=Window(Count("pk")))[:LIMIT])
    total = rows[0].listed_total if rows else 0
    return Section(rows=rows, total=total, readable=True, list_url=list_url)


def _list_url(model, people: list, person_field: str, **filters) -> str:
    """The model's admin list filtered as the section is: its people, its other filters
    (lookups of the model's own fields, which the admin accepts in the address)."""
    opts = model._meta
    params = {**filters, f"{person_field}__in": ",".join(str(pk) for pk in people)}
    return f"{reverse(f'admin:{opts.app_label}_{opts.model_name}_changelist')}?{urlencode(params)}"


def my_day(*, user, who: str = ME, now: dt.datetime | None = None) -> MyDay:
    """The day of `user` (`who="me"`) or of their team (`who="team"`, when they may see
    it; otherwise their own). Tasks are those due by the end of today, overdue first; the
    follow-ups an AI call asked for are listed on their own, whenever due, with the call's
    outcome; new leads newest first; open deals expected to close this month, soonest
    first, with their weighted value."""
    now = now or timezone.now()
    allowed = can_see_team(user)
    team = who == TEAM and allowed
    people = _people(user, TEAM if team else ME)

    tasks, tasks_readable = _visible(user, Task.objects.filter(status__in=TASK_OPEN_STATUSES))
    tasks = tasks.filter(assigned_to__in=people).annotate(listed_person=_person(Task))
    due = tasks.due_by_end_of_today(now).filter(ai_call__isnull=True).order_by("due_at")
    # The call's outcome only where the user may read the call: a follow-up stays with
    # whoever it was left for when its lead goes to someone else.
    calls = access.visible(user, Action.READ, AICall.objects.filter(pk=OuterRef("ai_call_id")))
    follow_ups = (
        tasks.filter(ai_call__isnull=False)
        .annotate(call_outcome=Subquery(calls.values("outcome")))
        .order_by("due_at")
    )

    leads, leads_readable = _visible(user, Lead.objects.filter(status=LeadStatus.NEW))
    leads = (
        leads.filter(assigned_to__in=people)
        .annotate(
            company_name=Subquery(Company.objects.filter(pk=OuterRef("company_id")).values("name")),
            listed_person=_person(Lead),
        )
        .order_by("-created_at")
    )

    today = timezone.localdate(now)
    month = today.replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    deals, deals_readable = _visible(user, Opportunity.objects.open())
    deals = deals.filter(
        owner__in=people, expected_close_date__gte=month, expected_close_date__lt=next_month
    )
    money = Money()
    if deals_readable:
        sums = (
            deals.order_by()
            .values("currency")
            .annotate(n=Count("pk"), value=Sum("value"), weighted=Sum("weighted_value"))
        )
        for row in sums:
            money.add(row["currency"], row["n"], row["value"], row["weighted"])
    deal_section = _section(
        with_names(deals).order_by("expected_close_date", "-weighted_value"),
        deals_readable,
        _list_url(
            Opportunity,
            people,
            "owner",
            status__exact=OpportunityStatus.OPEN,
            expected_close_date__gte=month.isoformat(),
            expected_close_date__lt=next_month.isoformat(),
        ),
    )

    follow_up_section = _section(
        follow_ups,
        tasks_readable,
        _list_url(
            Task,
            people,
            "assigned_to",
            status__in=",".join(TASK_OPEN_STATUSES),
            ai_call__isnull="False",
        ),
    )
    for task in follow_up_section.rows:
        task.outcome_label = CallOutcome(task.call_outcome).label if task.call_outcome else ""
    return MyDay(
        who=TEAM if team else ME,
        can_see_team=allowed,
        tasks=_section(
            due,
            tasks_readable,
            _list_url(Task, people, "assigned_to", due=DUE_BY_TODAY, ai_call__isnull="True"),
        ),
        follow_ups=follow_up_section,
        new_leads=_section(
            leads,
            leads_readable,
            _list_url(Lead, people, "assigned_to", status__exact=LeadStatus.NEW),
        ),
        deals=deal_section,
        deal_money=money,
        now=now,
    )
