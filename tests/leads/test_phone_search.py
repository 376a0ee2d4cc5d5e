"""A phone number however it is typed finds the same leads and companies in the admin's
lists and through the API's `search=` (one normalization, `leads.phone_search`): by the
lead's own number or its company's; never a neighbour's, nor another organization's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import api_client
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

# How people type the lead's number, stored as +441632960010.
TYPED = ["441632960010", "+44 1632 960010", "01632 960010", "1632 960010", "+441632960010"]


@pytest.fixture
def dripdrop(org_a, org_b):
    """The lead whose own phone is 01632 960010, its twin in organization B, a neighbour
    whose company has a number one digit away, and one whose company's number is 01632
    960020."""
    make_lead(org_b, contact_name="Twin", contact_phone="01632 960010")
    make_lead(org_a, contact_name="Neighbour", contact_phone="01632 960011")
    by_company = make_lead(
        org_a, contact_name="Front desk", company={"name": "Sparky", "phone": "01632 960020"}
    )
    own = make_lead(org_a, contact_name="Dana Drip", contact_phone="01632 960010")
    return own, by_company


def _api(client, resource: str, term: str) -> set[str]:
    response = client.get(f"/api/v1/{resource}/", {"search": term})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _admin(client, changelist: str, change: str, term: str, rows) -> set[str]:
    """The ids among `rows` that the admin's list links to when searched for `term`."""
    response = client.get(reverse(changelist), {"q": term})
    assert response.status_code == 200
    html = response.content.decode()
    return {str(pk) for pk in rows if reverse(change, args=[pk]) in html}


@pytest.mark.parametrize("term", TYPED)
def test_a_lead_is_found_by_its_phone_in_the_admin_and_the_api_alike(
    client, org_a, admin_a, dripdrop, term
):
    own, by_company = dripdrop
    assert _api(api_client(admin_a, org_a), "leads", term) == {str(own.pk)}
    client.force_login(admin_a)
    leads = [own.pk, by_company.pk]
    change = "admin:leads_lead_change"
    assert _admin(client, "admin:leads_lead_changelist", change, term, leads) == {str(own.pk)}


@pytest.mark.parametrize("term", ["441632960020", "+44 1632 960020", "01632 960020"])
def test_a_company_and_its_leads_are_found_by_the_companys_phone_alike(
    client, org_a, admin_a, dripdrop, term
):
    own, by_company = dripdrop
    api = api_client(admin_a, org_a)
    assert _api(api, "leads", term) == {str(by_company.pk)}
    assert _api(api, "companies", term) == {str(by_company.company_id)}
    client.force_login(admin_a)
    leads = [own.pk, by_company.pk]
    companies = [own.company_id, by_company.company_id]
    change = "admin:leads_lead_change"
    assert _admin(client, "admin:leads_lead_changelist", change, term, leads) == {
        str(by_company.pk)
    }
    change = "admin:leads_company_change"
    assert _admin(client, "admin:leads_company_changelist", change, term, companies) == {
        str(by_company.company_id)
    }


def test_another_organizations_lead_with_the_number_is_not_found(org_b, admin_b, dripdrop):
    own, _ = dripdrop
    found = _api(api_client(admin_b, org_b), "leads", "+44 1632 960010")
    assert len(found) == 1 and str(own.pk) not in found  # their own twin only


@pytest.mark.parametrize("term", ["2027", "1632", "12 345 678 901 234 567 890"])
def test_a_term_that_is_no_phone_number_finds_no_lead_by_phone(org_a, admin_a, dripdrop, term):
    assert _api(api_client(admin_a, org_a), "leads", term) == set()
