"""The company list's country filter and the interaction list's date hierarchy offer what
Django offered, in one statement however many rows and values there are: for whoever
reads every row found by walking an index one value at a time (smartweb.index_walks), a
rep's and a team's read from their rows as Django reads them. Each page is compared with
the same page drawn by Django's own filter or hierarchy, for the org admin and for reps."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from leads.models import Company, Interaction
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import CompanyFactory, InteractionFactory, make_lead

pytestmark = pytest.mark.django_db

COMPANIES = reverse("admin:leads_company_changelist")
INTERACTIONS = reverse("admin:leads_interaction_changelist")
UTC = dt.UTC


def _page(client, user, url: str, query: str = "") -> tuple[str, list[str]]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{url}?{query}")
    assert response.status_code == 200, query
    return response.content.decode(), [q["sql"] for q in captured.captured_queries]


def _country_filter(body: str) -> str:
    return re.search(r'<details data-filter-title="country".*?</details>', body, re.S).group(0)


def _choices(block: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', block)


def _trashed(model, row) -> None:
    with tenant_context(row.organization_id):
        model.all_objects.filter(pk=row.pk).update(deleted_at=timezone.now())


@pytest.fixture
def companies(org_a, org_b, admin_a, rep_a, rep_a2):
    """Countries of rep_a's leads' companies ("GB", none) and of one they recorded without
    a lead ("DE"); of rep_a2's lead's ("FR"); of a company of no one's ("IE") and of one in
    the trash ("US"); another organization's ("NL")."""
    make_lead(org_a, company={"name": "Gee Bee Plumbing", "country": "GB"}, assigned_to=rep_a)
    make_lead(org_a, company={"name": "Nowhere Roofing", "country": ""}, assigned_to=rep_a)
    make_lead(org_a, company={"name": "Paris Tiles", "country": "FR"}, assigned_to=rep_a2)
    CompanyFactory(organization=org_a, country="DE", created_by=rep_a)
    CompanyFactory(organization=org_a, country="IE")
    _trashed(Company, CompanyFactory(organization=org_a, country="US", created_by=admin_a))
    CompanyFactory(organization=org_b, country="NL")


@pytest.fixture
def djangos_country_filter(monkeypatch):
    """The company list with Django's own filter of every value of the column."""
    model_admin = admin.site._registry[Company]
    own = [
        f[0] if isinstance(f, tuple) and f[0] == "country" else f for f in model_admin.list_filter
    ]
    return lambda: monkeypatch.setattr(model_admin, "list_filter", own)


@pytest.mark.parametrize(
    "who, offered",
    [
        ("admin_a", ["", "DE", "FR", "GB", "IE", "US"]),
        ("manager_a", ["", "DE", "GB"]),
        ("rep_a", ["", "DE", "GB"]),
        ("rep_a2", ["FR"]),
    ],
)
def test_the_country_filter_offers_the_countries_of_ones_rows_as_django_did(
    request, client, companies, djangos_country_filter, who, offered
):
    """The countries of the rows the user may read, the trash's too (the list shows it),
    "" among them as Django offers it; by the same parameter, `country=`. Walked for the
    admin, who reads every company; a rep's and a team's companies, found by id, read
    once (a walk would find them again at each step)."""
    user = request.getfixturevalue(who)
    for query in ("", "country=GB", "country__isnull=True", "state=deleted"):
        walked, statements = _page(client, user, COMPANIES, query)
        assert [text for _, text in _choices(_country_filter(walked))] == ["All", *offered]
        walks = any(sql.startswith("WITH RECURSIVE") for sql in statements)
        reads = any(
            sql.startswith('SELECT DISTINCT "leads_company"."country"') for sql in statements
        )
        assert (walks, reads) == (who == "admin_a", who != "admin_a"), query
    narrowed, _ = _page(client, user, COMPANIES, "country=FR")
    assert ("Paris Tiles" in narrowed) == ("FR" in offered)
    djangos_country_filter()
    for query in ("", "country=GB", "country=", "country__isnull=True", "state=deleted"):
        walked_block = _country_filter(_page(client, user, COMPANIES, query)[0])
        assert walked_block == _country_filter(_page(client, user, COMPANIES, query)[0])


def test_the_country_filter_takes_one_statement_however_many_rows_and_countries(
    client, org_a, admin_a, rep_a, companies
):
    before = {user: len(_page(client, user, COMPANIES)[1]) for user in (admin_a, rep_a)}
    for country in ("ES", "IT", "PT", "GB", "GB"):
        make_lead(org_a, company={"name": f"More {country}", "country": country}, assigned_to=rep_a)
        _trashed(Company, CompanyFactory(organization=org_a, country=country))
    offered = {
        admin_a: ["", "DE", "ES", "FR", "GB", "IE", "IT", "PT", "US"],
        rep_a: ["", "DE", "ES", "GB", "IT", "PT"],
    }
    for user, count in before.items():
        body, statements = _page(client, user, COMPANIES)
        assert len(statements) == count
        assert [text for _, text in _choices(_country_filter(body))] == ["All", *offered[user]]


# America/St_Johns put its clocks back at 00:01 until 2011: on 7 November 2010 at 02:31
# UTC, from 00:01 on the 7th to 23:01 on the 6th. Its 6 November holds one interaction,
# which comes after the first one of its 7 November.
LOCAL_DAYS = [
    (dt.datetime(2010, 11, 7, 2, 30, 30, tzinfo=UTC), "rep_a"),  # 7 Nov, 00:00:30 NDT
    (dt.datetime(2010, 11, 7, 3, 0, tzinfo=UTC), "rep_a"),  # 6 Nov, 23:30 NST
    (dt.datetime(2010, 11, 20, 12, 0, tzinfo=UTC), "rep_a"),
    (dt.datetime(2011, 1, 1, 2, 0, tzinfo=UTC), "rep_a"),  # 2010 there
    (dt.datetime(2011, 1, 1, 4, 0, tzinfo=UTC), "rep_a"),  # 2011 there
    (dt.datetime(2012, 3, 1, 12, 0, tzinfo=UTC), "rep_a2"),
    (dt.datetime(2014, 6, 15, 12, 0, tzinfo=UTC), "rep_a"),
]
HIERARCHY_QUERIES = [
    "",
    "occurred_at__year=2010",
    "occurred_at__year=2010&occurred_at__month=11",
    "occurred_at__year=2010&occurred_at__month=11&occurred_at__day=6",
    "occurred_at__year=2011",
    "occurred_at__year=2013",
    "type__exact=call",
    "type__exact=email",
    "q=Call",
    "state=all",
    "state=deleted",
]


def _hierarchy(body: str) -> str:
    found = re.search(r'<nav class="toplinks">.*?</nav>', body, re.S)
    return found.group(0) if found else ""


@pytest.fixture
def interactions(request, org_a, org_b):
    """In `org_a`'s zone (the parameter): rep_a's and rep_a2's interactions above, one of
    rep_a's in the trash (2009), and another organization's (2008)."""
    Organization.objects.filter(pk=org_a.pk).update(time_zone=request.param)
    leads = {
        who: make_lead(org_a, contact_name=who, assigned_to=request.getfixturevalue(who))
        for who in ("rep_a", "rep_a2")
    }
    for n, (at, who) in enumerate(LOCAL_DAYS):
        kind = "email" if n % 3 else "call"
        InteractionFactory(organization=org_a, lead=leads[who], occurred_at=at, type=kind)
    gone = InteractionFactory(
        organization=org_a, lead=leads["rep_a"], occurred_at=dt.datetime(2009, 5, 1, tzinfo=UTC)
    )
    _trashed(Interaction, gone)
    InteractionFactory(organization=org_b, occurred_at=dt.datetime(2008, 5, 1, tzinfo=UTC))
    return leads


@pytest.mark.parametrize("interactions", ["America/St_Johns", "UTC"], indirect=True)
@pytest.mark.parametrize(
    "who, years", [("admin_a", ["2010", "2011", "2012", "2014"]), ("rep_a", None)]
)
def test_the_date_hierarchy_links_the_years_months_and_days_django_did(
    request, client, monkeypatch, interactions, who, years
):
    """The organization's active interactions are walked for its admin, in its zone; a
    rep's are read through their leads, as Django reads them. Every link is the same."""
    user = request.getfixturevalue(who)
    walked = {}
    for query in HIERARCHY_QUERIES:
        body, statements = _page(client, user, INTERACTIONS, query)
        walked[query] = _hierarchy(body)
        # A day's page names its day without reading it; the trash is read as Django reads it.
        drawn = "__day=" not in query
        walks = any(sql.startswith("WITH RECURSIVE") for sql in statements)
        assert walks == (who == "admin_a" and "state=" not in query and drawn), query
    top = re.findall(r">(\d{4})</a>", walked[""])
    assert top == (years or ["2010", "2011", "2014"])
    if request.node.callspec.params["interactions"] == "America/St_Johns":
        november = walked["occurred_at__year=2010&occurred_at__month=11"]
        assert re.findall(r"occurred_at__day=(\d+)", november) == ["6", "7", "20"]
    model_admin = admin.site._registry[Interaction]
    monkeypatch.setattr(model_admin, "walks_date_hierarchy", lambda request: False)
    for query in HIERARCHY_QUERIES:
        assert walked[query] == _hierarchy(_page(client, user, INTERACTIONS, query)[0]), query


@pytest.mark.parametrize("interactions", ["Europe/London"], indirect=True)
def test_the_date_hierarchy_takes_the_same_statements_however_many_rows_and_years(
    client, org_a, admin_a, rep_a, interactions
):
    before = {
        (user, query): len(_page(client, user, INTERACTIONS, query)[1])
        for user in (admin_a, rep_a)
        for query in HIERARCHY_QUERIES[:3]
    }
    for year in range(2015, 2020):
        for day in (1, 2, 28):
            for at in (
                dt.datetime(year, 11, day, 12, tzinfo=UTC),
                dt.datetime(2010, 11, day, 12, tzinfo=UTC),
            ):
                InteractionFactory(organization=org_a, lead=interactions["rep_a"], occurred_at=at)
    for (user, query), count in before.items():
        body, statements = _page(client, user, INTERACTIONS, query)
        assert len(statements) == count, (user.email, query)
        links = _hierarchy(body)
        assert {
            "": "occurred_at__year=2019",
            HIERARCHY_QUERIES[1]: "occurred_at__month=11",
            HIERARCHY_QUERIES[2]: "occurred_at__day=28",
        }[query] in links, (user.email, query)
