"""JSON columns hold what their declared schema says, refused when written (API, admin,
services), not when used: a bad organization setting would otherwise break every lead
creation after it."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from accounts import services as account_services
from accounts.models import Organization
from leads.models import Interaction
from smartweb.json_input import NOT_FINITE_MESSAGE
from smartweb.json_schema import DeclaredJSONField
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client
from tests.leads.factories import EnrichmentFactory, make_lead

pytestmark = pytest.mark.django_db

# Columns only the system writes, from values it builds itself.
SYSTEM_WRITTEN = {
    "accounts.AuditLog.details",
    "leads.Lead.score_breakdown",
    "compliance.SubjectRequest.result",
    "accounts.IdempotentRequest.response_body",
    "accounts.IdempotentRequest.response_headers",
}


def _json_columns():
    for label in ("accounts", "leads", "crm", "compliance"):
        for model in apps.get_app_config(label).get_models():
            if model._meta.proxy or model.__name__.startswith("Historical"):
                continue
            for field in model._meta.concrete_fields:
                if isinstance(field, models.JSONField):
                    yield f"{label}.{model.__name__}.{field.name}", field


@pytest.mark.parametrize("name, field", [pytest.param(n, f, id=n) for n, f in _json_columns()])
def test_every_json_column_a_client_writes_declares_its_schema(name, field):
    if name in SYSTEM_WRITTEN:
        return
    assert isinstance(field, DeclaredJSONField), f"{name} has no declared schema"
    for bad in (["not", "an", "object"], [], ""):
        with pytest.raises(ValidationError):
            field.run_validators(bad)


def test_a_bad_setting_is_refused_by_the_api_and_lead_creation_keeps_working(org_a, admin_a):
    client = factories.api_client(admin_a, org_a)
    response = client.patch(
        f"/api/v1/organizations/{org_a.pk}/", {"settings": {"lead_scoring": "x"}}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"] == {
        "settings": ['lead_scoring: "x" is not of type "object"']
    }
    created = client.post("/api/v1/leads/", {"company": {"name": "Drip Drop"}}, format="json")
    assert created.status_code == 201, created.content


@pytest.mark.parametrize(
    "settings, where",
    [
        ({"lead_scoring": {"weights": {"website": "high"}}}, "lead_scoring.weights.website"),
        ({"qualification_threshold": 101}, "qualification_threshold"),
        ({"retention": {"history_days": 0}}, "retention.history_days"),
        ({"currency": "euro"}, "currency"),
        ({"lead_scoring_typo": {}}, "Additional properties"),
    ],
)
def test_the_settings_service_refuses_what_the_schema_does_not_declare(
    org_a, admin_a, settings, where
):
    with factories.acting_as(admin_a, org_a), pytest.raises(ValidationError) as refused:
        account_services.organization_update(
            organization=org_a, changes={"settings": settings}, acting_user=admin_a
        )
    assert where in " ".join(refused.value.message_dict["settings"])
    assert Organization.objects.get(pk=org_a.pk).settings == {}


def test_good_settings_are_kept(org_a, admin_a):
    good = {"lead_scoring": {"weights": {"website": 50}}, "retention": {"history_days": None}}
    client = factories.api_client(admin_a, org_a)
    response = client.patch(f"/api/v1/organizations/{org_a.pk}/", {"settings": good}, format="json")
    assert response.status_code == 200, response.content
    assert Organization.objects.get(pk=org_a.pk).settings == good


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"lead_scoring": "x"}', 'lead_scoring: "x" is not of type "object"'),
        ("[" * 50_000, "JSON nested deeper than 32 levels is not accepted."),
        ('{"note": "a\\u0000b"}', "note: Null characters are not allowed."),
        ('{"qualification_threshold": NaN}', f"qualification_threshold: {NOT_FINITE_MESSAGE}"),
        (
            '{"retention": {"history_days": -Infinity}}',
            f"retention.history_days: {NOT_FINITE_MESSAGE}",
        ),
    ],
)
def test_the_admin_shows_a_bad_setting_on_the_field(org_a, admin_a, text, message):
    client = admin_client(admin_a)
    response = client.post(
        f"/admin/accounts/organization/{org_a.pk}/change/", {"name": "Acme", "settings": text}
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors["settings"]) == [message]
    assert Organization.objects.get(pk=org_a.pk).settings == {}


def test_enrichment_data_and_consent_evidence_of_the_wrong_shape_are_refused(org_a, admin_a):
    lead_a = make_lead(org_a)
    enrichment_a = EnrichmentFactory(organization=org_a, lead=lead_a)
    client = factories.api_client(admin_a, org_a)
    enrichment = client.patch(
        f"/api/v1/enrichments/{enrichment_a.pk}/", {"data": {"google_rating": "x"}}, format="json"
    )
    assert enrichment.status_code == 400, enrichment.content
    assert enrichment.json()["error"]["details"] == {
        "data": ['google_rating: "x" is not of type "number"']
    }
    consent = client.post(
        f"/api/v1/leads/{lead_a.pk}/consents/",
        {"purpose": "contact", "granted": True, "source": "email", "evidence": {"ip": ["x"]}},
        format="json",
    )
    assert consent.status_code == 400, consent.content
    assert "evidence" in consent.json()["error"]["details"]


def test_the_admin_shows_a_bad_ai_analysis_on_the_field(org_a, admin_a):
    lead = make_lead(org_a)
    client = admin_client(admin_a)
    response = client.post(
        "/admin/leads/interaction/add/",
        {
            "lead": str(lead.pk),
            "type": "note",
            "direction": "outbound",
            "occurred_at_0": "2026-12-01",
            "occurred_at_1": "10:00:00",
            "ai_analysis-sentiment": "furious",
            "ai_analysis-next_steps": "call",
        },
    )
    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["ai_analysis"]
    assert "furious" in error
    with tenant_context(org_a, user=admin_a):
        assert not Interaction.objects.filter(lead=lead).exists()


def test_a_large_value_with_many_problems_is_refused_at_once_naming_its_first(org_a, admin_a):
    """Each problem copied the whole value: 2,000 unknown keys in a saved view's query
    (40 KB) took 80 s and 2 GB of the server, 10,000 more than 20 GB. Past a size, the
    first problem is named, and no message answers the value back. (The API now refuses
    more than 20 keys before the schema is read: here 20 keys, each a problem, 20 KB.)"""
    from savedviews.models import SavedView

    client = factories.api_client(admin_a, org_a)
    query = {f"K{i}": ["x" * 100] * 10 for i in range(20)}
    response = client.post(
        "/api/v1/saved-views/",
        {"name": "Many", "resource": "leads", "query": query},
        format="json",
    )
    assert response.status_code == 400, response.content[:500]
    messages = response.json()["error"]["details"]["query"]
    assert len(messages) == 1
    assert "does not match" in messages[0]
    assert len(messages[0]) <= 320
    with tenant_context(org_a):
        assert not SavedView.objects.exists()


def test_a_small_value_names_every_problem(org_a, admin_a):
    client = factories.api_client(admin_a, org_a)
    query = {"Bad": ["x"], "Worse": ["y"]}
    response = client.post(
        "/api/v1/saved-views/",
        {"name": "Two", "resource": "leads", "query": query},
        format="json",
    )
    assert response.status_code == 400, response.content
    messages = response.json()["error"]["details"]["query"]
    assert len(messages) == 2, messages
