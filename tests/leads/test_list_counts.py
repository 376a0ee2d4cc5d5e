"""A lead list's count from the lead rollup (crm.selectors.lead_count_rows): the same number
as the rows the list pages through, for every scope and for the filters the rollup can
count by; any other filter, or object grants, and the list counts its rows itself."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import services
from leads.models import Lead
from smartweb.api.pagination import CappedCountPaginator
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client, share
from tests.leads.factories import LeadFactory, LeadTagFactory, TagFactory

pytestmark = pytest.mark.django_db

QUERIES = [
    "",
    "status=new",
    "status=new&status=lost",
    "source=referral",
    "status=contacted&source=website",
    "assigned_to={rep_a}",
    "assigned_to={rep_a2}&status=new",
    "assigned_to={manager_a}",
]
# Filters the rollup does not hold: the list counts its own rows.
OTHER_QUERIES = [
    "score_min=50",
    "tags={tag}",
    "unassigned=true",
    "search=Roof",
    "status=new&tags={tag}",
]


@pytest.fixture
def leads_of_org_a(org_a, org_b, admin_a, manager_a, rep_a, rep_a2):
    tag = TagFactory(organization=org_a, name="hot")
    owners = [rep_a, rep_a2, manager_a, None]
    kinds = itertools.product(["new", "contacted", "lost"], ["referral", "website"], owners)
    for n, (status, source, owner) in enumerate(kinds):
        lead = LeadFactory(
            organization=org_a,
            company__name=f"Roofing {n}",
            status=status,
            source=source,
            assigned_to=owner,
            lead_score=n * 4,
        )
        if n % 3 == 0:
            LeadTagFactory(organization=org_a, lead=lead, tag=tag)
    gone = LeadFactory(organization=org_a, source="referral", assigned_to=rep_a)
    with tenant_context(org_a):
        services.lead_delete(lead=gone, acting_user=None)
    LeadFactory(organization=org_b, source="referral")  # another organization's
    return tag


def _listed(client, query: str) -> tuple[int, bool, int, bool]:
    """The list's count, its cap flag and the rows it pages through; whether its count
    statement read the rollup."""
    with CaptureQueriesContext(connection) as captured:
        first = client.get(f"/api/v1/leads/?page_size=200&{query}").json()
    from_rollup = any("crm_leadrollup" in q["sql"] for q in captured.captured_queries)
    assert first["next"] is None  # one page holds them all
    return first["count"], first["count_capped"], len(first["results"]), from_rollup


@pytest.mark.parametrize("who", ["admin_a", "manager_a", "rep_a", "rep_a2", "readonly_a"])
def test_the_count_is_the_rows_listed_for_every_scope(request, leads_of_org_a, org_a, who):
    user = request.getfixturevalue(who)
    ids = {name: request.getfixturevalue(name).pk for name in ("rep_a", "rep_a2", "manager_a")}
    client = api_client(user, org_a)
    for query in QUERIES:
        count, capped, rows, from_rollup = _listed(client, query.format(**ids))
        assert (count, capped, from_rollup) == (rows, False, True), query
    for query in OTHER_QUERIES:
        count, capped, rows, from_rollup = _listed(client, query.format(tag=leads_of_org_a.pk))
        assert (count, capped, from_rollup) == (rows, False, False), query


def test_the_counts_follow_writes(leads_of_org_a, org_a, admin_a, rep_a):
    client = api_client(admin_a, org_a)
    before = _listed(client, "status=new")[0]
    with tenant_context(org_a):
        lead = Lead.objects.filter(status="new", assigned_to=rep_a).first()
        services.lead_change_status(lead=lead, status="contacted", acting_user=None)
    assert _listed(client, "status=new")[:3] == (before - 1, False, before - 1)
    rep_client = api_client(rep_a, org_a)
    mine = _listed(rep_client, "")[0]
    with tenant_context(org_a):
        services.lead_update(lead=lead, data={"assigned_to": None}, acting_user=None)
    assert _listed(rep_client, "")[:3] == (mine - 1, False, mine - 1)


def test_object_grants_count_the_rows_themselves(leads_of_org_a, org_a, admin_a, rep_a2):
    with tenant_context(org_a, user=admin_a):
        shared = Lead.objects.exclude(assigned_to=rep_a2).first()
    share(shared, rep_a2, org_a, by=admin_a)
    client = api_client(rep_a2, org_a)
    count, capped, rows, from_rollup = _listed(client, "")
    assert (count, capped, from_rollup) == (rows, False, False)
    with tenant_context(org_a):
        assert count == Lead.objects.filter(assigned_to=rep_a2).count() + 1


def test_a_count_from_the_rollup_is_capped_as_the_list_counts(
    leads_of_org_a, org_a, admin_a, monkeypatch
):
    """Above the cap both say `count_capped`, and the pages beyond it are not served:
    a deep page would read every row before it."""
    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 5)
    client = api_client(admin_a, org_a)
    for query in ("status=new", "score_min=1"):
        body = client.get(f"/api/v1/leads/?page_size=5&{query}").json()
        assert (body["count"], body["count_capped"], len(body["results"])) == (5, True, 5)
        assert client.get(f"/api/v1/leads/?page_size=5&page=2&{query}").status_code == 404


def test_another_organization_counts_its_own_leads_only(leads_of_org_a, org_b, admin_b):
    """The rollup is a tenant table: organization B's count from it holds B's one lead,
    none of A's 24."""
    client = api_client(admin_b, org_b)
    for query in ("", "status=new&source=referral"):
        assert _listed(client, query) == (1, False, 1, True), query
