"""The admin's lead and company lists find a lead by its own phone however written, its
email, and its company's name typed with a mistake; never another organization's."""

import pytest
from django.urls import reverse

from smartweb.tenancy.context import tenant_context
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

LEADS = reverse("admin:leads_lead_changelist")
COMPANIES = reverse("admin:leads_company_changelist")


@pytest.fixture
def ashbrook(org_a, org_b):
    """The same business in two organizations, and a neighbour in the first."""
    make_lead(org_a, company={"name": "Hollowell Roofing"}, contact_name="Pat Hollowell")
    for org in (org_b, org_a):
        lead = make_lead(
            org,
            company={"name": "Ashbrook Plumbing Ltd"},
            contact_name="Robin Ashbrook",
            contact_phone="020 7946 0958",
            contact_email="robin@ashbrook-plumbing.test",
        )
    return lead


def _found(client, user, url, term) -> str:
    client.force_login(user)
    response = client.get(url, {"q": term})
    assert response.status_code == 200
    return response.content.decode()


def _change(lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


@pytest.mark.parametrize(
    "term",
    [
        "020 7946 0958",  # as the lead's contact phone was typed
        "+442079460958",  # as stored
        "442079460958",  # with its country code, without the "+"
        "44 20 7946 0958",
        "0044 20 7946 0958",
        "20 7946 0958",  # without the trunk 0
        "robin@ashbrook-plumbing.test",
        "Ashbrok Plumbing",  # misspelt company name
        "plumbng",
    ],
)
def test_a_lead_is_found_by_its_phone_email_and_a_misspelt_company_name(
    client, admin_a, ashbrook, term
):
    html = _found(client, admin_a, LEADS, term)
    assert _change(ashbrook) in html
    assert "Hollowell" not in html


def test_the_company_list_forgives_a_typo_too(client, admin_a, ashbrook):
    html = _found(client, admin_a, COMPANIES, "Ashbruk")
    assert reverse("admin:leads_company_change", args=[ashbrook.company_id]) in html
    assert "Hollowell" not in html


def test_another_organization_s_twin_is_never_found(client, admin_b, ashbrook, org_a):
    html = _found(client, admin_b, LEADS, "Ashbrok Plumbing")
    assert _change(ashbrook) not in html
    assert "Ashbrook Plumbing" in html  # their own


def test_a_deleted_company_is_not_offered_by_the_autocomplete(client, admin_a, ashbrook, org_a):
    with tenant_context(org_a):
        ashbrook.company.delete()
    client.force_login(admin_a)
    url = reverse("admin:autocomplete")
    params = {
        "term": "Ashbruk",
        "app_label": "leads",
        "model_name": "lead",
        "field_name": "company",
    }
    assert client.get(url, params).json()["results"] == []
