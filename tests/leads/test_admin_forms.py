"""JSON columns of the leads admin as forms: a company's online presence and an
interaction's AI analysis are fields, not JSON boxes; saved unchanged, nothing changes."""

import pytest
from django.urls import reverse

from leads import services
from leads.models import Company, Interaction
from smartweb.tenancy.context import tenant_context
from tests.html_forms import form_data
from tests.leads.factories import InteractionFactory, make_lead

pytestmark = pytest.mark.django_db

PRESENCE = {
    "website_status": "outdated",
    "google_rating": 4.5,
    "google_review_count": 12,
    "social_profiles": {"facebook": "https://facebook.com/dripdrop"},
}
ANALYSIS = {
    "sentiment": "positive",
    "intent": "wants a quote",
    "summary": "Asked for a price.\nCall back on Monday.",
    "next_steps": ["Send the quote", "Call on Monday"],
}


@pytest.fixture
def company(org_a):
    lead = make_lead(org_a, company={"name": "Drip Drop", "online_presence": PRESENCE})
    return lead.company


@pytest.fixture
def interaction(org_a, lead_a):
    with tenant_context(org_a):
        return InteractionFactory(organization=org_a, lead=lead_a, ai_analysis=ANALYSIS)


def _stored(org, model, pk):
    with tenant_context(org):
        row = model.all_objects.get(pk=pk)
        return row, row.history.count()


def _page(client, url, form_id):
    page = client.get(url)
    assert page.status_code == 200
    return page.content.decode(), form_data(page.content.decode(), form_id)


def test_online_presence_is_a_form_and_saving_unchanged_changes_nothing(
    client, org_a, admin_a, company
):
    client.force_login(admin_a)
    url = reverse("admin:leads_company_change", args=[company.pk])
    body, data = _page(client, url, "company_form")
    assert 'name="online_presence"' not in body  # no JSON box
    assert data["online_presence-website_status"] == ["outdated"]
    assert data["online_presence-google_rating"] == ["4.5"]
    assert data["online_presence-social_profiles"] == ["facebook: https://facebook.com/dripdrop"]
    before, versions = _stored(org_a, Company, company.pk)
    assert client.post(url, data).status_code == 302
    after, versions_after = _stored(org_a, Company, company.pk)
    assert after.online_presence == before.online_presence == PRESENCE
    assert versions_after == versions

    data["online_presence-google_rating"] = ["3"]
    data["online_presence-website_status"] = ["none"]
    data["online_presence-social_profiles"] = [""]
    assert client.post(url, data).status_code == 302
    changed, _ = _stored(org_a, Company, company.pk)
    assert changed.online_presence == {
        "website_status": "none",
        "google_rating": 3.0,
        "google_review_count": 12,
    }


def test_a_bad_value_is_an_error_on_the_form(client, org_a, admin_a, company):
    client.force_login(admin_a)
    url = reverse("admin:leads_company_change", args=[company.pk])
    _, data = _page(client, url, "company_form")
    data["online_presence-google_rating"] = ["7"]
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "Google rating" in refused.content.decode()
    assert _stored(org_a, Company, company.pk)[0].online_presence == PRESENCE


def test_ai_analysis_is_a_form_and_round_trips(client, org_a, admin_a, interaction):
    client.force_login(admin_a)
    url = reverse("admin:leads_interaction_change", args=[interaction.pk])
    body, data = _page(client, url, "interaction_form")
    assert 'name="ai_analysis"' not in body
    assert data["ai_analysis-sentiment"] == ["positive"]
    assert data["ai_analysis-next_steps"] == ["Send the quote\nCall on Monday"]
    _, versions = _stored(org_a, Interaction, interaction.pk)
    assert client.post(url, data).status_code == 302
    after, versions_after = _stored(org_a, Interaction, interaction.pk)
    assert after.ai_analysis == ANALYSIS and versions_after == versions

    data["ai_analysis-next_steps"] = ["Send the quote\n\nVisit the site\n"]
    data["ai_analysis-sentiment"] = [""]
    assert client.post(url, data).status_code == 302
    changed, _ = _stored(org_a, Interaction, interaction.pk)
    assert changed.ai_analysis == {
        "intent": "wants a quote",
        "summary": "Asked for a price.\nCall back on Monday.",
        "next_steps": ["Send the quote", "Visit the site"],
    }
    services.clean_ai_analysis(changed.ai_analysis)
