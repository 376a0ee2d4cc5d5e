"""The admin's deal list finds a deal by its own name and by its lead's company's name,
every word of the search in one or the other, in any case, as Django's admin search does;
the company's name as the deal keeps it (ADR 0038), so a renamed company's deals are found
by the new name at once. Never another organization's deals."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Opportunity, Task
from leads import services as lead_services
from smartweb.tenancy.context import tenant_context
from tests.crm import factories

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:crm_opportunity_changelist")


@pytest.fixture
def deals(org_a, org_b, rep_a, admin_b):
    """Two deals of A, one of them with a task, and B's twin of the first."""

    def deal(org, owner, name, company):
        lead = factories.qualified_lead(org, assigned_to=owner, company_name=company)
        return factories.opportunity(org, owner=owner, lead=lead, name=name)

    found = {
        "drip": deal(org_a, rep_a, "Drip Drop website", "Ashbrook Plumbing Ltd"),
        "sparky": deal(org_a, rep_a, "Sparky renovation", "Hollowell Roofing"),
        "twin": deal(org_b, admin_b, "Drip Drop website", "Ashbrook Plumbing Ltd"),
    }
    factories.task(org_a, title="Call Ashbrook", opportunity=found["drip"], assigned_to=rep_a)
    return found


def _search(client, user, term: str, **filters) -> tuple[set[str], str]:
    """The ids of the deals the list shows for `term`, and the SQL of its page."""
    client.force_login(user)
    response = client.get(CHANGELIST, {"q": term, **filters})
    assert response.status_code == 200
    page = response.context["cl"].result_list
    return {str(deal.pk) for deal in page}, str(page.query)


def _ids(deals, *names) -> set[str]:
    return {str(deals[name].pk) for name in names}


@pytest.mark.parametrize(
    "term, names",
    [
        ("ashbrook", ["drip"]),  # the company's name, in any case
        ("PLUMBING LTD", ["drip"]),
        ("brook plumb", ["drip"]),  # each word a part of it
        ('"Plumbing Ltd"', ["drip"]),  # a quoted phrase, as one
        ("drip drop", ["drip"]),  # the deal's own name
        ("renovation", ["sparky"]),
        ("ashbrook website", ["drip"]),  # one word in the company, one in the deal
        ("o", ["drip", "sparky"]),
        ("ashbrook renovation", []),  # each word in one of them, not in the same deal
        ('"Ltd Plumbing"', []),
        ("Trade Co", []),
    ],
)
def test_a_deal_is_found_by_its_name_and_its_companys(client, admin_a, deals, term, names):
    found, sql = _search(client, admin_a, term)
    assert found == _ids(deals, *names)
    # The company's name is the deal's own column: no lead or company read for it.
    assert " JOIN " not in sql and "leads_company" not in sql, sql


def test_a_renamed_companys_deals_are_found_by_its_new_name(client, org_a, admin_a, deals):
    with tenant_context(org_a):
        lead_services.company_update(
            company=deals["drip"].lead.company, acting_user=None, data={"name": "Brookside"}
        )
    assert _search(client, admin_a, "brookside")[0] == _ids(deals, "drip")
    assert _search(client, admin_a, "ashbrook")[0] == set()


def test_a_deleted_companys_deal_is_found_in_the_trash_by_the_companys_name(
    client, org_a, admin_a, deals
):
    """The company deleted, its lead and deal go to the trash with it: searched there,
    the deal is still found by the company's name, as through its lead before."""
    with tenant_context(org_a):
        deals["drip"].lead.company.delete()
    assert _search(client, admin_a, "ashbrook")[0] == set()
    assert _search(client, admin_a, "ashbrook", state="deleted")[0] == _ids(deals, "drip")


def test_another_organizations_deals_are_never_found(client, admin_a, admin_b, rep_a, deals):
    assert _search(client, admin_b, "ashbrook")[0] == _ids(deals, "twin")
    assert _search(client, admin_b, "hollowell")[0] == set()
    assert _search(client, admin_a, "ashbrook")[0] == _ids(deals, "drip")
    assert _search(client, rep_a, "drip drop")[0] == _ids(deals, "drip")


def test_an_action_on_every_searched_deal_moves_only_those(client, org_a, admin_a, deals):
    """ "Select all" beyond the page: the action runs on the search's own deals."""
    client.force_login(admin_a)
    response = client.post(
        f"{CHANGELIST}?q=ashbrook",
        {
            "action": "move_to_next_stage",
            "select_across": "1",
            "index": "0",
            "_selected_action": [str(deals["drip"].pk)],  # the page's, checked with it
        },
        follow=True,
    )
    assert [str(message) for message in response.context["messages"]] == ["Moved: 1."]

    def moved(deal) -> bool:
        with tenant_context(deal.organization_id):
            return Opportunity.objects.get(pk=deal.pk).stage_id != deal.stage_id

    assert {name for name, deal in deals.items() if moved(deal)} == {"drip"}


def test_the_search_nested_in_another_query_still_means_its_own_deals(
    client, org_a, admin_a, deals
):
    """The kept name is a column of the search's own table even as a subquery (an
    action's `pk__in`, a list made duplicate-free), not the outer query's."""
    client.force_login(admin_a)
    searched = client.get(CHANGELIST, {"q": "ashbrook"}).context["cl"].queryset
    with tenant_context(org_a):
        assert set(Opportunity.objects.filter(pk__in=searched.values("pk"))) == {deals["drip"]}
        tasks = Task.objects.filter(opportunity__in=searched.values("pk"))
        assert [task.title for task in tasks] == ["Call Ashbrook"]
