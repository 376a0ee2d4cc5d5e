"""A number that is not finite (`NaN`, `Infinity`, `-Infinity`, which Python writes and
reads though they are not JSON, and `1e400`, past a float's range) is refused wherever
JSON enters, by `smartweb.json_input`: a 400 naming the field in the API (bodies, the
public form, the signed webhooks), an error on the field in the admin, a ValidationError
naming it in the services. Nothing of a refused write is stored. (Every operation of the
API is sent one in tests/security/test_hostile_input.py.)"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import Organization
from crm.models import AICall
from leads import services as lead_services
from leads.models import Company, Lead, LeadEnrichment
from smartweb import json_input
from smartweb.json_input import NOT_FINITE_MESSAGE
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.crm import factories as crm_factories
from tests.leads.factories import EnrichmentFactory, make_lead
from tests.leads.test_lead_form import make_form

NOT_FINITE = ["NaN", "Infinity", "-Infinity", "1e400"]


@pytest.mark.parametrize("literal", NOT_FINITE)
def test_loads_refuses_the_number_naming_where_it_is(literal):
    with pytest.raises(json_input.Refused) as refused:
        json_input.loads(f'{{"company": {{"metadata": {{"scores": [1, {literal}]}}}}}}')
    assert (refused.value.path, refused.value.reason) == (
        "company.metadata.scores.1",
        NOT_FINITE_MESSAGE,
    )
    with pytest.raises(json_input.Refused) as whole:
        json_input.loads(literal)
    assert whole.value.path == ""


@pytest.mark.parametrize("text", ['{"a": NaN', '{"a": Nan}', '"\\ud800"', "[1e400"])
def test_a_text_that_is_not_json_for_another_reason_stays_not_json(text):
    with pytest.raises(ValueError, match="not valid JSON"):
        json_input.loads(text)


def test_a_text_nested_past_pythons_limit_is_refused_for_its_depth():
    """orjson stops at the `NaN` before its own depth limit; Python's parser, reading it
    again, stops at its recursion limit."""
    with pytest.raises(json_input.Refused) as refused:
        json_input.loads("[" * 1010 + "NaN" + "]" * 1010)
    assert refused.value.reason == json_input.DEPTH_MESSAGE


def test_check_refuses_a_python_value_that_is_not_finite():
    json_input.check({"rating": 4.5, "votes": [1, 2.0]})
    for number in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(json_input.Refused) as refused:
            json_input.check({"votes": [1, number]}, "data")
        assert refused.value.path == "data.votes.1"


def _send(client, method: str, url: str, text: str, **extra):
    return client.generic(method, url, text.encode(), content_type="application/json", **extra)


def _details(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["details"]


def _count(organization, model) -> int:
    with tenant_context(organization):
        return model.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("literal", NOT_FINITE)
def test_a_lead_with_one_in_its_company_is_refused_and_nothing_is_written(org_a, admin_a, literal):
    client = factories.api_client(admin_a, org_a)
    text = (
        '{"contact_name": "Pat", "company": {"name": "Pat\'s Pipes",'
        f' "metadata": {{"rating": {literal}}}}}}}'
    )
    response = _send(client, "POST", "/api/v1/leads/", text)
    assert _details(response) == {"company.metadata.rating": [NOT_FINITE_MESSAGE]}
    assert (_count(org_a, Lead), _count(org_a, Company)) == (0, 0)


@pytest.mark.django_db
def test_an_edit_with_one_changes_nothing(org_a, admin_a):
    lead = make_lead(org_a, contact_name="Pat")
    enrichment = EnrichmentFactory(organization=org_a, lead=lead, data={"google_rating": 4.5})
    client = factories.api_client(admin_a, org_a)

    edited = _send(
        client,
        "PATCH",
        f"/api/v1/leads/{lead.pk}/",
        '{"notes": "Called", "company": {"metadata": {"rating": -Infinity}}}',
    )
    assert _details(edited) == {"company.metadata.rating": [NOT_FINITE_MESSAGE]}
    rated = _send(
        client, "PATCH", f"/api/v1/enrichments/{enrichment.pk}/", '{"data": {"google_rating": NaN}}'
    )
    assert _details(rated) == {"data.google_rating": [NOT_FINITE_MESSAGE]}
    settings = _send(
        client,
        "PATCH",
        f"/api/v1/organizations/{org_a.pk}/",
        '{"settings": {"qualification_threshold": Infinity}}',
    )
    assert _details(settings) == {"settings.qualification_threshold": [NOT_FINITE_MESSAGE]}

    with tenant_context(org_a):
        assert Lead.objects.get(pk=lead.pk).notes == ""
        assert Company.objects.get(pk=lead.company_id).metadata == {}
        assert LeadEnrichment.objects.get(pk=enrichment.pk).data == {"google_rating": 4.5}
    assert Organization.objects.get(pk=org_a.pk).settings == {}


@pytest.mark.django_db
def test_a_form_submission_with_one_is_refused_and_stores_nothing(org_a):
    form = make_form(org_a)
    body = {"contact_email": "pat@pipes.example", "consent": True, "message": float("nan")}
    response = _send(Client(), "POST", f"/api/v1/forms/{form.public_key}/submit/", json.dumps(body))
    assert _details(response) == {"message": [NOT_FINITE_MESSAGE]}
    assert (_count(org_a, Lead), _count(org_a, Company)) == (0, 0)


@pytest.mark.django_db
def test_a_webhook_delivery_with_one_is_refused_and_records_nothing(org_a, rep_a):
    call = crm_factories.ai_call(org_a, for_lead=crm_factories.lead(org_a, assigned_to=rep_a))
    secret = crm_factories.webhook_secret(org_a)
    report = {
        "call_id": call.provider_call_id,
        "status": "completed",
        "summary": "Wants a website.",
        "analysis": {"intent": "buy", "confidence": float("inf")},
    }
    response = crm_factories.deliver(Client(), org_a, secret, report)
    assert _details(response) == {"analysis.confidence": [NOT_FINITE_MESSAGE]}
    with tenant_context(org_a):
        stored = AICall.objects.get(pk=call.pk)
        assert (stored.status, stored.result_recorded_at) == (call.status, None)


@pytest.mark.django_db
def test_the_services_refuse_one_naming_the_field_and_write_nothing(org_a):
    lead = make_lead(org_a, contact_name="Pat")
    with tenant_context(org_a), pytest.raises(ValidationError) as refused:
        lead_services.enrichment_record(
            lead=lead, acting_user=None, provider="maps", data={"google_rating": float("nan")}
        )
    assert refused.value.message_dict == {"data": [f"google_rating: {NOT_FINITE_MESSAGE}"]}
    assert _count(org_a, LeadEnrichment) == 0
