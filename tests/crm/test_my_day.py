"""My day: a rep sees their own tasks, follow-ups, new leads and this month's deals; a
manager also their team's, each row saying whose it is; another organization nothing;
money per currency."""

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from crm.choices import AICallStatus, CallOutcome
from crm.models import AICall, Task
from crm.my_day import TEAM, my_day
from leads.choices import LeadStatus
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import acting_as

# "Today" is the pinned clock's (tests.clock), for these rows and for the code alike.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]


def _this_month(days: int = 0) -> dt.date:
    return timezone.localdate().replace(day=1) + dt.timedelta(days=days)


def _day_of(organization, person):
    """A day of `person`'s work in `organization`: an overdue task, one due later today,
    one due next week, a follow-up from an AI call, a new lead and two deals this month
    in two currencies (one next month, not listed)."""
    now = timezone.now()
    titles = {
        "overdue": f"Overdue for {person.email}",
        "later": f"Later today for {person.email}",
        "week": f"Next week for {person.email}",
    }
    factories.task(
        organization, title=titles["overdue"], assigned_to=person, due_at=now - dt.timedelta(days=2)
    )
    later_today = timezone.localtime(now).replace(hour=23, minute=59)
    factories.task(organization, title=titles["later"], assigned_to=person, due_at=later_today)
    factories.task(
        organization, title=titles["week"], assigned_to=person, due_at=now + dt.timedelta(days=8)
    )
    called = factories.lead(organization, assigned_to=person, status=LeadStatus.CONTACTED)
    call = factories.ai_call(organization, for_lead=called)
    with tenant_context(organization):
        AICall.objects.filter(pk=call.pk).update(
            status=AICallStatus.COMPLETED, outcome=CallOutcome.CALLBACK
        )
        # as the provider's report does (crm.services._follow_up)
        Task.objects.create(
            title=f"Call back for {person.email}",
            assigned_to=person,
            lead=called,
            ai_call=call,
            due_at=now + dt.timedelta(days=3),
        )
    factories.lead(organization, assigned_to=person, company_name=f"New Co of {person.email}")
    close = _this_month(1)
    for currency, value in (("EUR", "1000.00"), ("GBP", "500.00")):
        factories.opportunity(
            organization,
            owner=person,
            value=Decimal(value),
            currency=currency,
            expected_close_date=close,
            name=f"{currency} deal of {person.email}",
        )
    factories.opportunity(
        organization,
        owner=person,
        expected_close_date=_this_month(40),
        name=f"Later deal of {person.email}",
    )
    return titles


def _seen(day) -> set[str]:
    rows = day.tasks.rows + day.follow_ups.rows + day.deals.rows
    return {getattr(r, "title", None) or r.name for r in rows} | {
        r.company_name for r in day.new_leads.rows
    }


def test_a_rep_sees_their_own_day(org_a, rep_a, rep_a2):
    mine = _day_of(org_a, rep_a)
    _day_of(org_a, rep_a2)
    with acting_as(rep_a, org_a):
        day = my_day(user=rep_a)
    assert [t.title for t in day.tasks.rows] == [mine["overdue"], mine["later"]]
    assert [t.is_overdue for t in day.tasks.rows] == [True, False]
    assert [t.title for t in day.follow_ups.rows] == [f"Call back for {rep_a.email}"]
    assert day.follow_ups.rows[0].outcome_label == "Callback"
    assert [lead.company_name for lead in day.new_leads.rows] == [f"New Co of {rep_a.email}"]
    assert sorted(d.name for d in day.deals.rows) == [
        f"EUR deal of {rep_a.email}",
        f"GBP deal of {rep_a.email}",
    ]
    assert not any(rep_a2.email in text for text in _seen(day))
    assert not day.can_see_team


def test_two_currencies_give_two_totals(org_a, rep_a):
    _day_of(org_a, rep_a)
    with acting_as(rep_a, org_a):
        day = my_day(user=rep_a)
    assert [(t["currency"], t["weighted_value"]) for t in day.deal_money.totals()] == [
        ("EUR", Decimal("100.00")),
        ("GBP", Decimal("50.00")),
    ]


def test_a_rep_asking_for_the_team_still_sees_their_own(org_a, rep_a, manager_a):
    _day_of(org_a, manager_a)
    with acting_as(rep_a, org_a):
        day = my_day(user=rep_a, who=TEAM)
    assert day.who == "me" and not any(manager_a.email in text for text in _seen(day))


def test_a_manager_sees_their_team_on_asking(org_a, manager_a, rep_a, rep_a2):
    _day_of(org_a, rep_a)
    _day_of(org_a, rep_a2)
    with acting_as(manager_a, org_a):
        own = my_day(user=manager_a)
        team = my_day(user=manager_a, who=TEAM)
    assert own.can_see_team and own.who == "me" and _seen(own) == set()
    seen = _seen(team)
    assert f"Overdue for {rep_a.email}" in seen and f"GBP deal of {rep_a.email}" in seen
    assert not any(rep_a2.email in text for text in seen)  # not in the manager's team
    assert len(team.deal_money.totals()) == 2


def test_the_teams_day_says_whose_each_row_is(org_a, manager_a, rep_a):
    _day_of(org_a, rep_a)
    client = Client()
    client.force_login(manager_a)
    team = client.get(reverse("admin:index") + "?day=team").content.decode()
    for section in ("tasks", "follow-ups", "leads", "deals"):
        rows = re.search(rf'id="my-day-{section}".*?</tbody>', team, re.S).group()
        assert f'<span class="quiet who">{escape(rep_a.get_full_name())}</span>' in rows, section
    own = client.get(reverse("admin:index")).content.decode()
    assert 'class="quiet who"' not in own, "one's own day names no one"


def test_another_organization_sees_nothing(org_a, rep_a, org_b, admin_b):
    _day_of(org_a, rep_a)
    with acting_as(admin_b, org_b):
        day = my_day(user=admin_b, who=TEAM)
    assert _seen(day) == set() and day.deal_money.totals() == []


def test_a_constant_number_of_queries(org_a, manager_a, rep_a):
    def count() -> int:
        with acting_as(manager_a, org_a), CaptureQueriesContext(connection) as queries:
            my_day(user=manager_a, who=TEAM)
        return len(queries)

    _day_of(org_a, rep_a)
    count()  # the user's grants are read once, then kept on them
    few = count()
    for _ in range(5):
        _day_of(org_a, rep_a)
    assert count() == few <= 12


def _more_links(client, url: str) -> dict[str, str]:
    page = client.get(url).content.decode()
    return {
        section: html.unescape(link)
        for section, link in re.findall(
            r'id="my-day-([\w-]+)".*?<a class="more" href="([^"]+)">and \d+ more</a>', page, re.S
        )
    }


def _listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode().count('class="action-select"')


@pytest.mark.parametrize("who", ["me", "team"])
def test_and_n_more_opens_the_list_of_all_of_them(
    monkeypatch, org_a, manager_a, rep_a, rep_a2, who
):
    monkeypatch.setattr("crm.my_day.LIMIT", 1)
    for person in (rep_a, rep_a, manager_a, rep_a2):
        _day_of(org_a, person)
    user = rep_a if who == "me" else manager_a
    with acting_as(user, org_a):
        day = my_day(user=user, who=who)
    client = Client()
    client.force_login(user)
    links = _more_links(client, reverse("admin:index") + f"?day={who}")
    totals = {
        "tasks": day.tasks.total,
        "follow-ups": day.follow_ups.total,
        "leads": day.new_leads.total,
        "deals": day.deals.total,
    }
    assert set(links) == set(totals)
    assert {section: _listed(client, link) for section, link in links.items()} == totals
