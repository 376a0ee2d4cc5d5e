"""The company list ordered by city or by trade, and filtered by them (docs/decisions/0057,
amended): read through the organization's indexes of city and trade, and the city filter
through the organization's spellings of the city (`index_walks.spellings`), the lists
give the rows the plain rule gives, in the same order (the default order, then the id,
breaking ties), for an admin, a manager and a rep, in the API and the admin, and never
another organization's."""

from __future__ import annotations

import pytest

from leads.choices import BusinessType
from leads.models import Company
from smartweb import index_walks
from smartweb.tenancy.context import tenant_context
from tests.factories import admin_browser, api_client
from tests.leads.factories import CompanyFactory, LeadFactory
from tests.leads.test_company_scope import _plainly

pytestmark = pytest.mark.django_db

P, R, E = BusinessType.PLUMBER, BusinessType.ROOFER, BusinessType.ELECTRICIAN
# (name, city, trade, its lead's assignee or None). Equal names, cities and trades: the
# tie-breakers decide.
ROWS = [
    ("Ashbrook", "Leeds", P, "rep_a"),
    ("Ashbrook", "Leeds", P, "rep_a"),
    ("Ashbrook", "LEEDS", R, "manager_a"),
    ("Birch", "leeds", E, "rep_a2"),
    ("Birch", "Leedsville", P, "rep_a"),
    ("Cedar", "York", R, "rep_a"),
    ("Cedar", "York", R, None),
    ("Alder", "", E, "manager_a"),
    ("Dale", "Straße", P, "rep_a"),
    ("Dale", "STRASSE", P, "rep_a"),
]
# Whose companies each person reads (the manager's team is the manager and the rep).
OWNERS = {"admin_a": None, "manager_a": ["manager_a", "rep_a"], "rep_a": ["rep_a"]}


@pytest.fixture
def companies(request, org_a, org_b, admin_b):
    for name, city, trade, assignee in ROWS:
        company = CompanyFactory(organization=org_a, name=name, city=city, business_type=trade)
        LeadFactory(
            organization=org_a,
            company=company,
            assigned_to=request.getfixturevalue(assignee) if assignee else None,
        )
    # The rep's, in the trash; another organization's, of the same city and trade.
    trashed = CompanyFactory(organization=org_a, name="Ashbrook", city="Leeds")
    LeadFactory(organization=org_a, company=trashed, assigned_to=request.getfixturevalue("rep_a"))
    with tenant_context(org_a):
        trashed.soft_delete()
    other = CompanyFactory(organization=org_b, name="Ashbrook", city="Leeds")
    LeadFactory(organization=org_b, company=other, assigned_to=admin_b)


def _expected(request, org, who: str, order: list[str], **filters) -> list[str]:
    """The ids the plain rule gives `who`, in `order`, by the database's sort."""
    with tenant_context(org):
        rows = Company.objects.filter(**filters)
        if OWNERS[who] is not None:
            rows = rows.filter(_plainly([request.getfixturevalue(n).pk for n in OWNERS[who]]))
        return [str(pk) for pk in rows.order_by(*order).values_list("pk", flat=True)]


API_ORDERS = {
    "city": ["city", "name", "id"],
    "-city": ["-city", "name", "id"],
    "business_type": ["business_type", "name", "id"],
    "-business_type": ["-business_type", "name", "id"],
}


@pytest.mark.parametrize("ordering", list(API_ORDERS))
@pytest.mark.parametrize("who", list(OWNERS))
def test_the_api_orders_by_city_and_trade_as_the_plain_rule(
    request, companies, org_a, who, ordering
):
    client = api_client(request.getfixturevalue(who), org_a)
    answer = client.get(f"/api/v1/companies/?ordering={ordering}").json()
    expected = _expected(request, org_a, who, API_ORDERS[ordering])
    assert [row["id"] for row in answer["results"]] == expected
    assert answer["count"] == len(expected)


@pytest.mark.parametrize("typed", ["leeds", "LEEDS", "LeEdS", "straße", "STRASSE"])
@pytest.mark.parametrize("who", list(OWNERS))
def test_the_api_finds_a_city_in_any_case_as_iexact_does(request, companies, org_a, who, typed):
    client = api_client(request.getfixturevalue(who), org_a)
    answer = client.get("/api/v1/companies/", {"city": typed}).json()
    expected = _expected(request, org_a, who, ["name", "id"], city__iexact=typed)
    assert expected, "the case needs rows"
    assert [row["id"] for row in answer["results"]] == expected
    assert answer["count"] == len(expected)


def test_a_city_no_company_is_in_lists_none(companies, org_a, admin_a):
    client = api_client(admin_a, org_a)
    for typed in ("Leed", "Leedsvill", "Hull"):
        answer = client.get("/api/v1/companies/", {"city": typed}).json()
        assert (answer["count"], answer["results"]) == (0, []), typed


@pytest.mark.parametrize("who", list(OWNERS))
def test_the_api_filters_by_trade_as_the_plain_rule(request, companies, org_a, who):
    client = api_client(request.getfixturevalue(who), org_a)
    answer = client.get("/api/v1/companies/?business_type=plumber&business_type=roofer").json()
    expected = _expected(request, org_a, who, ["name", "id"], business_type__in=[P, R])
    assert [row["id"] for row in answer["results"]] == expected
    assert answer["count"] == len(expected)


# Sorted by a column, Django breaks ties by the id, descending.
ADMIN_ORDERS = {
    "city": ["city", "-pk"],
    "-city": ["-city", "-pk"],
    "business_type": ["business_type", "-pk"],
    "-business_type": ["-business_type", "-pk"],
}


@pytest.mark.parametrize("ordering", list(ADMIN_ORDERS))
@pytest.mark.parametrize("who", list(OWNERS))
def test_the_admin_orders_by_city_and_trade_as_the_plain_rule(
    request, companies, org_a, who, ordering
):
    browser = admin_browser(request.getfixturevalue(who))
    # The column's number: a list without actions (a rep's) has no checkbox column.
    columns = browser.get("/admin/leads/company/").context["cl"].list_display
    descending, field = ordering.startswith("-"), ordering.lstrip("-")
    number = f"{'-' if descending else ''}{columns.index(field)}"
    listed = browser.get(f"/admin/leads/company/?o={number}").context["cl"]
    expected = _expected(request, org_a, who, ADMIN_ORDERS[ordering])
    assert [str(c.pk) for c in listed.result_list] == expected
    assert listed.result_count == len(expected)


@pytest.mark.parametrize("who", list(OWNERS))
def test_the_admin_filters_by_trade_as_the_plain_rule(request, companies, org_a, who):
    browser = admin_browser(request.getfixturevalue(who))
    listed = browser.get("/admin/leads/company/?business_type__exact=roofer").context["cl"]
    expected = _expected(request, org_a, who, ["name", "-pk"], business_type=R)
    assert [str(c.pk) for c in listed.result_list] == expected
    assert listed.result_count == len(expected)


def test_spellings_are_the_distinct_values_equal_in_any_case(companies, org_a, org_b):
    with tenant_context(org_a):
        cities = Company.objects.values("city")
        assert sorted(index_walks.spellings(cities, "leeds")) == sorted(["LEEDS", "Leeds", "leeds"])
        assert index_walks.spellings(cities, "YORK") == ["York"]
        assert index_walks.spellings(cities, "Hull") == []
        assert index_walks.spellings(Company.objects.none().values("city"), "Leeds") == []
    with tenant_context(org_b):
        assert index_walks.spellings(Company.objects.values("city"), "LEEDS") == ["Leeds"]
