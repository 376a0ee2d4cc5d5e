"""A value a database check constraint would refuse is refused at its field, in words,
on the admin's forms (never "Constraint “…” is violated." above the form), the rest of
what was typed kept and nothing saved: a pipeline stage's probability and won/lost
flags, a campaign's hours, dates and limits, a deal's and a proposal's currency."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Campaign, Opportunity, PipelineStage
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db


def _post(user, page: str, form_id: str, **changes):
    client = Client()
    client.force_login(user)
    data = form_data(client.get(page).content.decode(), form_id)
    data.update({name: [value] for name, value in changes.items()})
    response = client.post(page, data)
    assert response.status_code == 200, "refused, the form shown again"
    assert "Constraint" not in response.content.decode()
    return response


def test_a_stage_probability_past_100_or_won_and_lost_is_refused_at_its_field(
    org_a, admin_a, opp_a
):
    pipeline = opp_a.pipeline
    page = reverse("admin:crm_pipeline_change", args=[pipeline.pk])
    response = _post(
        admin_a,
        page,
        "pipeline_form",
        **{
            "stages-0-probability": "150",
            "stages-1-is_won": "on",
            "stages-1-is_lost": "on",
        },
    )
    errors = [form.errors for form in response.context["inline_admin_formsets"][0].formset]
    assert errors[0] == {"probability": ["Ensure this value is less than or equal to 100."]}
    assert errors[1] == {"is_lost": ["A stage is won or lost, not both."]}
    with tenant_context(org_a):
        assert not PipelineStage.objects.filter(probability__gt=100).exists()


def test_a_campaign_s_hours_dates_and_limits_are_refused_at_their_fields(org_a, admin_a):
    campaign = factories.campaign(org_a, name="Spring calls")
    page = reverse("admin:crm_campaign_change", args=[campaign.pk])
    response = _post(
        admin_a,
        page,
        "campaign_form",
        name="Renamed",
        calling_hours_start="17:00:00",
        calling_hours_end="09:00:00",
        starts_at_0="2031-05-02",
        starts_at_1="09:00:00",
        ends_at_0="2031-05-01",
        ends_at_1="09:00:00",
        max_attempts_per_lead="0",
        daily_call_limit="0",
    )
    form = response.context["adminform"].form
    assert form.errors == {
        "calling_hours_end": ["Calling hours end after they start."],
        "ends_at": ["The campaign ends after it starts."],
        "max_attempts_per_lead": ["Ensure this value is greater than or equal to 1."],
        "daily_call_limit": ["Ensure this value is greater than or equal to 1."],
    }
    assert form["name"].value() == "Renamed"
    with tenant_context(org_a):
        assert Campaign.objects.get(pk=campaign.pk).name == "Spring calls"


def test_a_deal_s_currency_is_read_in_capitals_and_refused_in_words(org_a, admin_a, opp_a):
    page = reverse("admin:crm_opportunity_change", args=[opp_a.pk])
    response = _post(admin_a, page, "opportunity_form", currency="e1r")
    assert response.context["adminform"].form.errors == {
        "currency": ["Use a three-letter ISO 4217 currency code."]
    }
    client = Client()
    client.force_login(admin_a)
    data = form_data(client.get(page).content.decode(), "opportunity_form")
    data["currency"] = ["gbp"]
    assert client.post(page, data).status_code == 302
    with tenant_context(org_a):
        assert Opportunity.objects.get(pk=opp_a.pk).currency == "GBP"
