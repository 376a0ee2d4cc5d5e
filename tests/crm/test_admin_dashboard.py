"""The admin home's "My day" and the sales dashboard, as pages: what each person sees,
money per currency, readable labels, filters, refusals and the other organization."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role, RolePermission
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import tenant_context
from tests import factories as people
from tests.crm import factories
from tests.html_forms import select_labels

pytestmark = pytest.mark.django_db

HOME = reverse("admin:index")
DASHBOARD = reverse("admin:crm_salesdashboard_changelist")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _close_this_month() -> dt.date:
    return timezone.localdate().replace(day=1) + dt.timedelta(days=1)


@pytest.fixture
def rep_day(org_a, rep_a, midday):
    """An overdue task of rep_a, and two deals of rep_a closing this month: EUR and GBP
    ("this month" is the pinned clock's, tests.clock, for the rows and the page alike)."""
    task = factories.task(
        org_a,
        title="Ring the Drip Drop plumber",
        assigned_to=rep_a,
        due_at=timezone.now() - dt.timedelta(hours=5),
    )
    for currency, value in (("EUR", "1000.00"), ("GBP", "2000.00")):
        factories.opportunity(
            org_a,
            owner=rep_a,
            value=Decimal(value),
            currency=currency,
            expected_close_date=_close_this_month(),
            name=f"{currency} website",
        )
    return task


def test_the_home_shows_the_reps_day(rep_day, rep_a):
    page = _client(rep_a).get(HOME).content.decode()
    assert "My day" in page
    task_url = reverse("admin:crm_task_change", args=[rep_day.pk])
    row = re.search(r'<tr class="overdue">.*?</tr>', page, re.S)
    assert row and task_url in row.group(0) and "Overdue" in row.group(0)
    assert "EUR 100.00" in page and "GBP 200.00" in page  # weighted: 10% in the first stage
    assert "Team</a>" not in page  # a rep has no team toggle


def test_a_manager_toggles_to_the_team(rep_day, org_a, manager_a, rep_a2):
    factories.task(org_a, title="Sparky call", assigned_to=rep_a2, due_at=timezone.now())
    client = _client(manager_a)
    own = client.get(HOME).content.decode()
    assert "Ring the Drip Drop plumber" not in own and '?day=team">Team</a>' in own
    team = client.get(HOME, {"day": "team"}).content.decode()
    assert "My team’s day" in team and "Ring the Drip Drop plumber" in team
    assert "Sparky call" not in team  # rep_a2 is not in the manager's team


def test_the_home_shows_nothing_of_another_organization(rep_day, admin_b):
    page = _client(admin_b).get(HOME, {"day": "team"}).content.decode()
    assert "Ring the Drip Drop plumber" not in page and "EUR website" not in page


def test_the_home_reads_a_constant_number_of_queries(rep_day, org_a, rep_a):
    client = _client(rep_a)
    client.get(HOME)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(HOME).status_code == 200
        return len(queries)

    few = count()
    for n in range(12):
        factories.task(org_a, title=f"More {n}", assigned_to=rep_a, due_at=timezone.now())
        factories.lead(org_a, assigned_to=rep_a)
    assert count() == few


def test_the_dashboard_sums_money_per_currency(rep_day, admin_a):
    page = _client(admin_a).get(DASHBOARD).content.decode()
    totals = re.findall(r'class="crm-total dashboard-total open">.*?<strong>(.*?)</strong>', page)
    assert totals == ["EUR 100.00", "GBP 200.00"]
    assert "EUR 300" not in page and "GBP 300" not in page  # never added together
    charts = re.findall(r'class="crm-card crm-wide monthly-chart" data-currency="(\w+)"', page)
    assert charts == ["EUR", "GBP"]
    month = timezone.localdate().strftime("%b %Y")
    first_chart = page.split('data-currency="EUR"')[1].split("</svg>")[0]
    assert first_chart.count(f'text-anchor="middle">{month}</text>') == 1  # labelled once
    assert 'class="tick"' in first_chart  # an axis with values


def test_the_dashboard_shows_labels_not_codes(org_a, admin_a):
    factories.lead(org_a, source="google_maps")
    page = _client(admin_a).get(DASHBOARD).content.decode()
    assert "Google Maps" in page and "google_maps" not in page


def test_the_dashboard_filters_by_owner_and_period(rep_day, org_a, manager_a, rep_a, rep_a2):
    factories.opportunity(
        org_a, owner=rep_a2, currency="USD", expected_close_date=_close_this_month()
    )
    client = _client(manager_a)
    everyone = client.get(DASHBOARD).content.decode()
    assert "USD" not in everyone  # outside the manager's team
    assert f'value="{rep_a2.pk}"' not in everyone  # not offered as an owner either
    refused = client.get(DASHBOARD, {"owner": rep_a2.pk}).content.decode()
    assert "Select a valid choice" in refused and "USD" not in refused
    gone = (timezone.localdate() + dt.timedelta(days=400)).isoformat()
    later = client.get(DASHBOARD, {"start": gone, "end": gone, "owner": rep_a.pk})
    assert "EUR 100.00" not in later.content.decode()
    mine = client.get(DASHBOARD, {"owner": manager_a.pk}).content.decode()
    assert "EUR 100.00" not in mine


def test_the_owner_filter_offers_me_first_then_only_whose_deals_i_may_see(
    org_a, admin_a, manager_a, rep_a, rep_a2
):
    def owners(user) -> list[str]:
        return select_labels(_client(user).get(DASHBOARD).content.decode(), "owner")

    # A rep sees their own deals only: no colleague is offered.
    assert owners(rep_a) == ["Everyone", f"Me ({rep_a.get_full_name()})"]
    # A manager, their team's (rep_a2 is in no team of theirs).
    assert owners(manager_a) == [
        "Everyone",
        f"Me ({manager_a.get_full_name()})",
        rep_a.get_full_name(),
    ]
    # An admin, the organization's members (none of another organization).
    others = sorted([manager_a, rep_a, rep_a2], key=lambda user: user.email)
    assert owners(admin_a) == [
        "Everyone",
        f"Me ({admin_a.get_full_name()})",
        *(user.get_full_name() for user in others),
    ]


def test_a_rep_asking_for_a_colleagues_dashboard_is_refused_and_sees_their_own(
    rep_day, org_a, rep_a, rep_a2
):
    factories.opportunity(
        org_a, owner=rep_a2, currency="USD", expected_close_date=_close_this_month()
    )
    client = _client(rep_a)
    refused = client.get(DASHBOARD, {"owner": rep_a2.pk}).content.decode()
    assert "Select a valid choice" in refused
    assert "EUR 100.00" in refused and "USD" not in refused
    mine = client.get(DASHBOARD, {"owner": rep_a.pk}).content.decode()
    assert "Select a valid choice" not in mine and "EUR 100.00" in mine


def test_the_dashboard_refuses_and_isolates(rep_day, org_a, admin_b):
    page = _client(admin_b).get(DASHBOARD).content.decode()
    assert "EUR 100.00" not in page and "GBP" not in page
    with tenant_context(org_a):
        role = Role.objects.create(name="Accounts only", slug="accounts-only", back_office=True)
        RolePermission.objects.create(role=role, resource=Resource.COMPANIES, action=Action.READ)
        clerk = people.UserFactory()
        Membership.objects.create(organization=org_a, user=clerk, role=role)
    assert _client(clerk).get(DASHBOARD).status_code == 403


def test_the_dashboard_answers_bad_filters_with_errors(rep_day, rep_a):
    client = _client(rep_a)
    bad = client.get(DASHBOARD, {"owner": "not-an-id", "start": "2026-13-45", "end": "x"})
    assert bad.status_code == 200 and bad.content.count(b'<ul class="errorlist">') == 3
    assert b"EUR 100.00" in bad.content  # the default period, meanwhile
    backwards = client.get(DASHBOARD, {"start": "2026-06-01", "end": "2026-01-01"})
    assert b"The end of the period is before its start." in backwards.content
    too_long = client.get(DASHBOARD, {"start": "2020-01-01", "end": "2026-01-01"})
    assert b"two years at most" in too_long.content
