"""The company list's country filter offers what Django offered, found by walking an index
one value at a time (smartweb.index_walks) in one statement however many rows and values
there are. Each page is compared with the same page drawn by Django's own filter, for
the org admin, a manager and reps."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.models import Company
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db

COMPANIES = reverse("admin:leads_company_changelist")


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
    "" among them as Django offers it; by the same parameter, `country=`."""
    user = request.getfixturevalue(who)
    for query in ("", "country=GB", "country__isnull=True", "state=deleted"):
        walked, statements = _page(client, user, COMPANIES, query)
        assert [text for _, text in _choices(_country_filter(walked))] == ["All", *offered]
        assert any(sql.startswith("WITH RECURSIVE") for sql in statements)
        assert not any(
            sql.startswith('SELECT DISTINCT "leads_company"."country"') for sql in statements
        )
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
