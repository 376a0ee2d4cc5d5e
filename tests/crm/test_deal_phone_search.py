"""A rep called back from a number finds the deal however the number is typed, in the
admin's deal list and through the API's `search=`: by its lead's own phone or its lead's
company's (the leads' normalization, `leads.phone_search`); only the deals they may read,
never another organization's, in as many queries whatever it finds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.crm import factories
from tests.factories import api_client

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:crm_opportunity_changelist")
# The lead's own number, stored as +441134960123, as people type it.
LEAD_PHONE = ["441134960123", "+44 113 496 0123", "0113 496 0123", "113 496 0123"]
# The lead's company's number, stored as +441134960456.
COMPANY_PHONE = ["441134960456", "+44 113 4960 456", "0113 496 0456"]


@pytest.fixture
def calls(org_a, org_b, rep_a, rep_a2, admin_b):
    """rep_a's deal with the lead whose phone is 0113 496 0123, their deal with a lead
    whose company's is 0113 496 0456, rep_a2's deal with another lead on 0113 496 0123,
    a neighbour one digit away, and organization B's twin."""

    def deal(org, owner, **lead):
        made = factories.qualified_lead(org, assigned_to=owner, **lead)
        return factories.opportunity(org, owner=owner, lead=made)

    by_lead = deal(org_a, rep_a, phone=False, contact_phone="0113 496 0123")
    by_company = deal(org_a, rep_a, company_phone="0113 496 0456")
    colleagues = deal(org_a, rep_a2, phone=False, contact_phone="0113 496 0123")
    deal(org_a, rep_a, phone=False, contact_phone="0113 496 0124")
    twin = deal(org_b, admin_b, phone=False, contact_phone="0113 496 0123")
    return {"by_lead": by_lead, "by_company": by_company, "colleagues": colleagues, "twin": twin}


def _api(user, org, term: str) -> set[str]:
    response = api_client(user, org).get("/api/v1/opportunities/", {"search": term})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _admin(client, user, term: str) -> set[str]:
    client.force_login(user)
    response = client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    return {str(deal.pk) for deal in response.context["cl"].result_list}


def _ids(calls, *names) -> set[str]:
    return {str(calls[name].pk) for name in names}


@pytest.mark.parametrize("term", LEAD_PHONE)
def test_a_deal_is_found_by_its_leads_phone_however_typed(client, org_a, admin_a, calls, term):
    found = _ids(calls, "by_lead", "colleagues")
    assert _api(admin_a, org_a, term) == found
    assert _admin(client, admin_a, term) == found


@pytest.mark.parametrize("term", COMPANY_PHONE)
def test_a_deal_is_found_by_its_companys_phone_however_typed(client, org_a, admin_a, calls, term):
    assert _api(admin_a, org_a, term) == _ids(calls, "by_company")
    assert _admin(client, admin_a, term) == _ids(calls, "by_company")


def test_a_rep_finds_only_the_deals_they_may_read(client, org_a, rep_a, rep_a2, calls):
    assert _api(rep_a, org_a, "0113 496 0123") == _ids(calls, "by_lead")
    assert _admin(client, rep_a, "0113 496 0123") == _ids(calls, "by_lead")
    assert _api(rep_a2, org_a, "441134960123") == _ids(calls, "colleagues")
    assert _admin(client, rep_a2, "441134960123") == _ids(calls, "colleagues")


def test_the_read_only_member_finds_every_deal_of_the_number(client, org_a, readonly_a, calls):
    assert _admin(client, readonly_a, "+441134960123") == _ids(calls, "by_lead", "colleagues")


def test_another_organizations_deal_with_the_number_is_never_found(client, org_b, admin_b, calls):
    assert _api(admin_b, org_b, "0113 496 0123") == _ids(calls, "twin")
    assert _admin(client, admin_b, "0113 496 0123") == _ids(calls, "twin")


def test_a_deal_is_found_by_the_whole_number_not_by_a_part_of_it(client, org_a, admin_a, calls):
    found = _ids(calls, "by_lead", "colleagues")
    assert _api(admin_a, org_a, "0113 496 0123") == _admin(client, admin_a, "01134960123") == found
    assert _api(admin_a, org_a, "4960") == _admin(client, admin_a, "4960") == set()


def _queries(get) -> int:
    with CaptureQueriesContext(connection) as captured:
        get()
    return len(captured.captured_queries)


def test_the_search_costs_as_many_queries_for_one_deal_found_as_for_three(
    client, org_a, admin_a, rep_a, calls
):
    """rep_a's deal has 0113 496 0456; three more of theirs are given 0113 496 0789."""
    for _ in range(3):
        lead = factories.qualified_lead(org_a, assigned_to=rep_a, company_phone="01134960789")
        factories.opportunity(org_a, owner=rep_a, lead=lead)
    api = api_client(admin_a, org_a)
    client.force_login(admin_a)
    api.get("/api/v1/opportunities/")  # a new token's first use records it (one write)
    client.get(CHANGELIST)
    counts = {}
    for term, found in (("01134960456", 1), ("01134960789", 3)):
        assert len(_api(admin_a, org_a, term)) == len(_admin(client, admin_a, term)) == found
        counts[found] = (
            _queries(lambda term=term: api.get("/api/v1/opportunities/", {"search": term})),
            _queries(lambda term=term: client.get(CHANGELIST, {"q": term})),
        )
    assert counts[1] == counts[3]
