"""A new company that matches an existing one is refused until the user ticks "allow
duplicate": on the company page and in the "+" popup of a lead's company field."""

import pytest
from django.urls import reverse

from leads.models import Company
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

POPUP = reverse("admin:leads_company_add") + "?_to_field=id&_popup=1"
FORM = {
    "business_type": "plumber",
    "country": "GB",
    "online_presence": "{}",
    "metadata": "{}",
}


@pytest.fixture
def existing(org_a):
    return make_lead(org_a, company={"name": "Ashbrook Plumbing", "phone": "020 7946 0958"})


def _count(org, name) -> int:
    with tenant_context(org):
        return Company.objects.filter(name__iexact=name).count()


@pytest.mark.parametrize(
    "fields, matched",
    [
        ({"name": "ashbrook plumbing"}, "name"),
        ({"name": "A. Plumbing", "phone": "+44 20 7946 0958"}, "phone"),
    ],
)
def test_the_popup_warns_of_a_duplicate_and_creates_it_when_told(
    client, org_a, admin_a, existing, fields, matched
):
    client.force_login(admin_a)
    refused = client.post(POPUP, {**FORM, **fields, "_popup": "1", "_to_field": "id"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert f"Possible duplicate of: Ashbrook Plumbing ({matched}" in html
    assert 'name="allow_duplicate"' in html
    assert _count(org_a, fields["name"]) == (1 if matched == "name" else 0)

    allowed = client.post(
        POPUP, {**FORM, **fields, "allow_duplicate": "on", "_popup": "1", "_to_field": "id"}
    )
    assert allowed.status_code == 200
    assert "popup_response" in allowed.content.decode()  # the popup hands the id back
    assert _count(org_a, fields["name"]) == (2 if matched == "name" else 1)


def test_another_organization_s_company_is_no_duplicate(client, org_b, admin_b, existing):
    client.force_login(admin_b)
    response = client.post(POPUP, {**FORM, "name": "Ashbrook Plumbing", "_popup": "1"})
    assert "popup_response" in response.content.decode()
    assert "Possible duplicate" not in response.content.decode()
    assert _count(org_b, "Ashbrook Plumbing") == 1


def test_a_company_s_own_page_does_not_call_it_a_duplicate_of_itself(
    client, org_a, admin_a, existing
):
    client.force_login(admin_a)
    url = reverse("admin:leads_company_change", args=[existing.company_id])
    page = client.get(url)
    assert 'name="allow_duplicate"' not in page.content.decode()


def test_a_member_who_may_not_create_companies_is_refused(client, org_a, readonly_a):
    client.force_login(readonly_a)
    assert client.get(POPUP).status_code == 403
