"""A company is its live lead's assignee's and its creator's (`Company.scope_owner_field`).
The permission service finds a user's companies as one set of ids, those of their leads
and those they recorded, each through its own index, and a team holding many by either
path or'ed, each an EXISTS (`smartweb.access`): the same rows as the rule read plainly (either
owner, or'ed), for every role, in the admin's list and the API's, never another
organization's; and a rep's API page reads its count with its rows, in one statement (no
DISTINCT)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role
from leads.models import Company, Lead
from smartweb import access
from smartweb.rbac import Action
from smartweb.tenancy.context import tenant_context
from tests.factories import acting_as, admin_browser, api_client, share
from tests.leads.factories import CompanyFactory, LeadFactory

pytestmark = pytest.mark.django_db

# name -> (its lead's assignee or None, whether it has a lead, its creator, trashed: the
# lead, the company). People by fixture name.
COMPANIES = {
    "Assigned to the rep": ("rep_a", True, None, False, False),
    "Recorded by the rep": (None, False, "rep_a", False, False),
    "Recorded by the rep, the other rep's lead": ("rep_a2", True, "rep_a", False, False),
    "Assigned to and recorded by the rep": ("rep_a", True, "rep_a", False, False),
    "The rep's lead in the trash": ("rep_a", True, None, True, False),
    "Recorded by the rep, in the trash": (None, False, "rep_a", False, True),
    "The rep's, in the trash with its lead": ("rep_a", True, None, True, True),
    "Assigned to the other rep": ("rep_a2", True, None, False, False),
    "Recorded by the manager": (None, False, "manager_a", False, False),
    "Assigned to the manager": ("manager_a", True, "admin_a", False, False),
    "Unassigned": (None, True, "admin_a", False, False),
}
# Who sees which, the trash included (`?state=all`).
SEEN = {
    "admin_a": set(COMPANIES),
    "readonly_a": set(COMPANIES),
    "manager_a": {
        "Assigned to the rep",
        "Recorded by the rep",
        "Recorded by the rep, the other rep's lead",
        "Assigned to and recorded by the rep",
        "Recorded by the rep, in the trash",
        "Recorded by the manager",
        "Assigned to the manager",
    },
    "rep_a": {
        "Assigned to the rep",
        "Recorded by the rep",
        "Recorded by the rep, the other rep's lead",
        "Assigned to and recorded by the rep",
        "Recorded by the rep, in the trash",
    },
    "rep_a2": {"Recorded by the rep, the other rep's lead", "Assigned to the other rep"},
}
TRASHED = {name for name, row in COMPANIES.items() if row[4]}


def _company(organization, name, people, assignee, with_lead, creator, lead_trashed, trashed):
    company = CompanyFactory(organization=organization, name=name, created_by=people.get(creator))
    if with_lead:
        lead = LeadFactory(
            organization=organization, company=company, assigned_to=people.get(assignee)
        )
        if lead_trashed:
            with tenant_context(organization):
                lead.soft_delete()
    if trashed:
        with tenant_context(organization):
            company.soft_delete()
    return company


@pytest.fixture
def companies(request, org_a, org_b, admin_a, admin_b, manager_a, rep_a, rep_a2, readonly_a):
    """Org A's companies, a lead of the manager shared with the other rep (whose scope
    then carries object grants), and their twins in org B, where the rep is a rep too and
    owns the same names."""
    people = {name: request.getfixturevalue(name) for name in SEEN if name != "readonly_a"}
    made = {name: _company(org_a, name, people, *row).pk for name, row in COMPANIES.items()}
    with tenant_context(org_b):
        Membership.objects.create(
            organization=org_b, user=rep_a, role=Role.objects.get(slug="sales_rep")
        )
    for name, row in COMPANIES.items():
        _company(org_b, name, {"rep_a": rep_a, "admin_a": admin_b}, *row)
    with tenant_context(org_a):
        managers_lead = Lead.objects.get(company__name="Assigned to the manager")
    share(managers_lead, rep_a2, org_a, by=admin_a)
    return made


# Whose rows each person's scope holds (the manager's team is the manager and the rep).
_TEAMS = {"manager_a": ["manager_a", "rep_a"], "rep_a": ["rep_a"], "rep_a2": ["rep_a2"]}


def _plainly(owners: list) -> Q:
    """The rule read plainly: a live lead of theirs, or recorded by them."""
    of_their_leads = Lead.objects.filter(assigned_to__in=owners).values("company")
    return Q(pk__in=of_their_leads) | Q(created_by__in=owners)


@pytest.fixture(params=["looked up", "walked"])
def team_rows(request, monkeypatch):
    """A team's companies as one set of ids, or, as for a team holding many, their paths
    or'ed and walked in the list's order (`access.TEAM_WALK_FROM`)."""
    if request.param == "walked":
        monkeypatch.setattr(access, "TEAM_WALK_FROM", 1)
    return request.param


@pytest.mark.parametrize("who", sorted(SEEN))
def test_the_permission_service_gives_the_rows_of_the_plain_rule(
    request, companies, org_a, who, team_rows
):
    user = request.getfixturevalue(who)
    names = dict(zip(companies.values(), companies, strict=True))
    with acting_as(user, org_a):
        every = Company.all_objects.all()
        seen = set(access.visible(user, Action.READ, every).values_list("pk", flat=True))
        if who in _TEAMS:
            owners = [request.getfixturevalue(name).pk for name in _TEAMS[who]]
            assert seen == set(every.filter(_plainly(owners)).values_list("pk", flat=True))
        assert {names[pk] for pk in seen} == SEEN[who]
        for name, pk in companies.items():
            company = Company.all_objects.get(pk=pk)
            assert access.can(user, Action.READ, "companies", obj=company) == (name in SEEN[who])


def _in_name_order(organization, names: set) -> list[str]:
    """`names` as the database sorts them (its collation, not Python's)."""
    with tenant_context(organization):
        rows = Company.all_objects.filter(name__in=names).order_by("name")
        return list(rows.values_list("name", flat=True))


@pytest.mark.parametrize("who", sorted(SEEN))
def test_the_admin_list_shows_the_scope_in_name_order_with_its_count(
    request, companies, org_a, who, team_rows
):
    browser = admin_browser(request.getfixturevalue(who))
    for state, expected in (("all", SEEN[who]), ("active", SEEN[who] - TRASHED)):
        response = browser.get(f"/admin/leads/company/?state={state}")
        listed = response.context["cl"]
        assert [c.name for c in listed.result_list] == _in_name_order(org_a, expected)
        assert listed.result_count == len(expected)
        plural = "company" if len(expected) == 1 else "companies"
        assert f"{len(expected)} {plural}" in response.content.decode()


@pytest.mark.parametrize("who", sorted(SEEN))
def test_the_api_list_gives_the_scope_in_name_order_with_its_count(
    request, companies, org_a, who, team_rows
):
    answer = api_client(request.getfixturevalue(who), org_a).get("/api/v1/companies/").json()
    expected = _in_name_order(org_a, SEEN[who] - TRASHED)
    assert [row["name"] for row in answer["results"]] == expected
    assert answer["count"] == len(expected)


def test_a_reps_company_page_reads_its_count_with_its_rows(companies, org_a, rep_a):
    """One statement, the count a sub-select of the page's (`PageWithCountPaginator`):
    the list needs no DISTINCT, whose count Django reads on its own."""
    client = api_client(rep_a, org_a)
    with CaptureQueriesContext(connection) as captured:
        answer = client.get("/api/v1/companies/").json()
    read = [q["sql"] for q in captured.captured_queries if 'FROM "leads_company"' in q["sql"]]
    assert answer["count"] == len(SEEN["rep_a"] - TRASHED)
    assert len(read) == 1, read
    assert "DISTINCT" not in read[0]
