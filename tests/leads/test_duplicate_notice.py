"""Duplicates are caught across the organization, but a warning names only the records
the user may read: a rep with "own" scope learns that a colleague's lead or company
exists, never its name or id."""

import io

import pytest
from django.urls import reverse

from leads import csv_io, services
from tests.factories import api_client
from tests.leads.factories import acting_as, make_lead
from tests.leads.test_admin import INLINE_MANAGEMENT
from tests.leads.test_admin_company_duplicates import FORM, POPUP

pytestmark = pytest.mark.django_db

PHONE = "01632 960777"
EMAIL = "joanne@roberts-slate.test"


@pytest.fixture
def colleagues_lead(org_a, rep_a):
    """rep_a's lead: out of rep_a2's scope (own, no team), in the admin's."""
    return make_lead(
        org_a,
        company={"name": "Wood Roofing & Guttering", "phone": PHONE},
        contact_name="Joanne Roberts",
        contact_email=EMAIL,
        assigned_to=rep_a,
    )


def _shows(text: str, lead) -> bool:
    return "Wood Roofing" in text or "Joanne Roberts" in text or str(lead.pk) in text


@pytest.mark.parametrize("who, named", [("rep_a2", False), ("admin_a", True)])
def test_the_company_popup_names_only_a_company_the_user_may_open(
    client, request, colleagues_lead, who, named
):
    client.force_login(request.getfixturevalue(who))
    response = client.post(
        POPUP, {**FORM, "name": "Totally New Name Ltd", "phone": PHONE, "_popup": "1"}
    )
    html = response.content.decode()
    assert "Possible duplicate of:" in html
    assert _shows(html, colleagues_lead) is named
    assert ("a company you cannot open, with the same phone" in html) is not named


@pytest.mark.parametrize("who, named", [("rep_a2", False), ("admin_a", True)])
def test_the_add_lead_page_names_only_a_lead_the_user_may_open(
    client, request, org_a, colleagues_lead, who, named
):
    user = request.getfixturevalue(who)
    with acting_as(org_a, user):
        company = services.company_create(acting_user=user, data={"name": "Fresh Slate Ltd"})
    client.force_login(user)
    form = {
        "company": str(company.pk),
        "source": "manual",
        "assigned_to": str(user.pk) if not named else "",
        "contact_email": EMAIL.upper(),
        "next_follow_up_at_0": "",
        "next_follow_up_at_1": "",
        **INLINE_MANAGEMENT,
    }
    response = client.post(reverse("admin:leads_lead_add"), form)
    html = response.content.decode()
    assert response.status_code == 200 and "Possible duplicate of:" in html
    assert _shows(html, colleagues_lead) is named
    assert ("a lead you cannot open, with the same email" in html) is not named


@pytest.mark.parametrize("who, named", [("rep_a2", False), ("admin_a", True)])
def test_the_import_reports_a_duplicate_it_names_only_to_who_may_open_it(
    request, org_a, colleagues_lead, who, named
):
    user = request.getfixturevalue(who)
    text = f"company_name,business_type,phone\nTotally New Name Ltd,roofer,{PHONE}\n"
    with acting_as(org_a, user):
        report = csv_io.import_leads(source=io.BytesIO(text.encode()), acting_user=user)
    [duplicate] = report.duplicates
    assert duplicate.row == 2 and duplicate.field == "phone"
    assert _shows(duplicate.reason, colleagues_lead) is named
    assert ("a lead you cannot open, with the same phone" in duplicate.reason) is not named


@pytest.mark.parametrize("who, named", [("rep_a2", False), ("admin_a", True)])
def test_the_api_refuses_a_duplicate_naming_only_a_lead_the_user_may_open(
    request, org_a, colleagues_lead, who, named
):
    client = api_client(request.getfixturevalue(who), org_a)
    new = {"company": {"name": "Totally New Name Ltd", "phone": PHONE}}
    response = client.post("/api/v1/leads/", new, format="json")
    assert response.status_code == 400
    [duplicate] = response.json()["error"]["details"]["duplicates"]
    assert duplicate["matched_on"] == ["phone"]
    assert _shows(response.content.decode(), colleagues_lead) is named
    assert (duplicate["id"] == str(colleagues_lead.pk)) is named
