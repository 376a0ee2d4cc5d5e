"""A list in a request body is bounded, and a list of references costs one query however
long it is: a client sending 10,000 ids (or one id 10,000 times) held a worker for
minutes, one query per id, and a list past its bound is refused at its field with
nothing written."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, LeadTag
from smartweb.api.serializers import MAX_REFERENCES
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client
from tests.leads.factories import TagFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(org_a):
    return make_lead(org_a, company={"name": "Drip Drop Plumbing", "business_type": "plumber"})


@pytest.fixture
def tag(org_a):
    return TagFactory(organization=org_a, name="hot")


def _tag_ids(org, lead) -> set:
    with tenant_context(org):
        return set(LeadTag.objects.filter(lead=lead).values_list("tag_id", flat=True))


def test_tags_past_the_bound_are_refused_at_their_field_and_nothing_changes(
    org_a, admin_a, lead, tag
):
    client = api_client(admin_a, org_a)
    too_many = [str(tag.pk)] * (MAX_REFERENCES + 1)
    response = client.patch(f"/api/v1/leads/{lead.pk}/", {"tags": too_many}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"] == {
        "tags": [f"Ensure this field has no more than {MAX_REFERENCES} elements."]
    }
    assert _tag_ids(org_a, lead) == set()


def test_a_tag_named_many_times_is_looked_up_once_and_given_once(org_a, admin_a, lead, tag):
    client = api_client(admin_a, org_a)
    with CaptureQueriesContext(connection) as queries:
        response = client.patch(
            f"/api/v1/leads/{lead.pk}/", {"tags": [str(tag.pk)] * MAX_REFERENCES}, format="json"
        )
    assert response.status_code == 200, response.content
    assert [t["id"] for t in response.json()["tags"]] == [str(tag.pk)]
    assert _tag_ids(org_a, lead) == {tag.pk}
    tag_reads = [q for q in queries.captured_queries if 'FROM "leads_tag"' in q["sql"]]
    assert len(tag_reads) <= 2, [q["sql"] for q in tag_reads]


def test_a_tag_of_another_organization_among_the_list_does_not_exist(
    org_a, admin_a, org_b, lead, tag
):
    foreign = TagFactory(organization=org_b, name="cold")
    client = api_client(admin_a, org_a)
    response = client.patch(
        f"/api/v1/leads/{lead.pk}/", {"tags": [str(tag.pk), str(foreign.pk)]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "tags": [f'Invalid pk "{foreign.pk}" - object does not exist.']
    }
    assert _tag_ids(org_a, lead) == set()


@pytest.mark.parametrize("item", [True, 1.5, "not-a-uuid", None, {"id": "x"}])
def test_a_reference_that_is_no_uuid_is_refused_before_any_lookup(org_a, admin_a, lead, item):
    client = api_client(admin_a, org_a)
    response = client.patch(f"/api/v1/leads/{lead.pk}/", {"tags": [item]}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["details"]) == ["tags"]


def test_a_merge_of_more_leads_than_the_bound_is_refused_and_merges_none(org_a, admin_a, lead):
    other = make_lead(org_a, company={"name": "Sparky Electrics", "business_type": "electrician"})
    client = api_client(admin_a, org_a)
    response = client.post(
        f"/api/v1/leads/{lead.pk}/merge/",
        {"duplicates": [str(other.pk)] * (MAX_REFERENCES + 1)},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["details"]) == ["duplicates"]
    with tenant_context(org_a):
        assert Lead.objects.filter(pk=other.pk).exists()


def test_the_schema_states_the_bound_of_each_list_of_references(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    tags = components["LeadCreateRequest"]["properties"]["tags"]
    duplicates = components["MergeRequest"]["properties"]["duplicates"]
    assert tags["maxItems"] == duplicates["maxItems"] == MAX_REFERENCES


# --- every list a body may hold -------------------------------------------------------

# JSON columns: bounded by the JSON Schema each declares (smartweb.json_schema, ADR 0013)
# and by the body's size, not by the API schema's array bounds.
JSON_COLUMNS = {
    "lead_filter",
    "online_presence",
    "metadata",
    "data",
    "ai_analysis",
    "evidence",
    "settings",
    "analysis",
}


def _unbounded_arrays(schema: dict, components: dict, where: str, seen=frozenset()):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _unbounded_arrays(components[name], components, where, seen | {name})
        return
    if schema.get("readOnly"):
        return
    if schema.get("type") == "array":
        if "maxItems" not in schema:
            yield where
        yield from _unbounded_arrays(schema.get("items", {}), components, f"{where}[]", seen)
    for name, child in schema.get("properties", {}).items():
        if name not in JSON_COLUMNS:
            yield from _unbounded_arrays(child, components, f"{where}.{name}", seen)
    for variant in ("allOf", "anyOf", "oneOf"):
        for child in schema.get(variant, []):
            yield from _unbounded_arrays(child, components, where, seen)


def test_every_list_a_request_body_holds_states_its_bound(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    unbounded = [
        where
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "patch")
        for media in operation.get("requestBody", {}).get("content", {}).values()
        for where in _unbounded_arrays(media["schema"], components, f"{method.upper()} {path}")
    ]
    assert not unbounded


def test_a_pipeline_with_more_stages_than_the_bound_is_refused_and_not_created(org_a, admin_a):
    from crm.api.serializers import MAX_STAGES
    from crm.models import Pipeline

    client = api_client(admin_a, org_a)
    stages = [{"name": f"Stage {i}", "probability": "10"} for i in range(MAX_STAGES + 1)]
    response = client.post("/api/v1/pipelines/", {"name": "Long", "stages": stages}, format="json")
    assert response.status_code == 400, response.content
    details = response.json()["error"]["details"]
    assert list(details) == ["stages"]
    assert f"no more than {MAX_STAGES} elements" in str(details)
    with tenant_context(org_a):
        assert not Pipeline.objects.filter(name="Long").exists()


def test_a_role_listing_more_grants_than_there_are_is_refused(org_a, admin_a):
    client = api_client(admin_a, org_a)
    grant = {"resource": "leads", "action": "read", "scope": "own"}
    response = client.post(
        "/api/v1/roles/", {"name": "Many", "permissions": [grant] * 1000}, format="json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["details"]) == ["permissions"]
    assert "no more than" in str(response.json()["error"]["details"])


def test_a_lead_form_for_more_sites_than_the_bound_is_refused_and_not_created(org_a, admin_a):
    from leads.api.lead_forms import MAX_ORIGINS
    from leads.models import LeadForm

    client = api_client(admin_a, org_a)
    origins = [f"https://site{i}.example.com" for i in range(MAX_ORIGINS + 1)]
    response = client.post(
        "/api/v1/lead-forms/", {"name": "Everywhere", "allowed_origins": origins}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"] == {
        "allowed_origins": [f"Ensure this field has no more than {MAX_ORIGINS} elements."]
    }
    with tenant_context(org_a):
        assert not LeadForm.objects.exists()


# --- lists of choices: the length first, then the first few refused ---------------------


def _endpoints(org) -> int:
    from webhooks.models import Endpoint

    with tenant_context(org):
        return Endpoint.all_objects.count()


def test_a_list_of_choices_past_its_bound_is_refused_for_its_length_alone(org_a, admin_a):
    from webhooks.choices import EventType

    client = api_client(admin_a, org_a)
    response = client.post(
        "/api/v1/webhook-endpoints/",
        {"url": "https://hooks.example.com/crm", "event_types": ["nope"] * 10_000},
        format="json",
    )
    assert response.status_code == 400, response.content[:500]
    assert response.json()["error"]["details"] == {
        "event_types": [f"Ensure this field has no more than {len(EventType.choices)} elements."]
    }
    assert _endpoints(org_a) == 0


def test_a_list_of_bad_choices_names_the_first_few_and_counts_the_rest(org_a, admin_a):
    from smartweb.api.serializers import MAX_ITEM_ERRORS
    from webhooks.choices import EventType

    client = api_client(admin_a, org_a)
    bad = [f"nope-{i}" for i in range(len(EventType.choices))]
    response = client.post(
        "/api/v1/webhook-endpoints/",
        {"url": "https://hooks.example.com/crm", "event_types": bad},
        format="json",
    )
    assert response.status_code == 400, response.content[:500]
    refused = response.json()["error"]["details"]["event_types"]
    assert refused == {
        **{str(i): [f'"{bad[i]}" is not a valid choice.'] for i in range(MAX_ITEM_ERRORS)},
        "more": [f"{len(bad) - MAX_ITEM_ERRORS} more items were refused."],
    }
    assert _endpoints(org_a) == 0
