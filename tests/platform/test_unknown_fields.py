"""A body field the API does not have is refused at that field, never ignored: a client
that misspells `assigned_to` is told so (with the field it likely meant) instead of a 200
for a change that was not made, and nothing is written. What an answer showed may be
sent back; the public form and the providers' callbacks keep taking fields of their own."""

from __future__ import annotations

import pytest

from crm.models import Pipeline, Task
from leads.models import Lead
from smartweb.api.serializers import MOST_UNKNOWN_FIELDS_REPORTED
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client, count_rows
from tests.leads.factories import make_lead
from tests.leads.test_lead_form import make_form, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(org_a):
    return make_lead(org_a, company={"name": "Drip Drop Plumbing"}, contact_name="Dee Drop")


def _stored(org, lead) -> Lead:
    with tenant_context(org):
        return Lead.objects.get(pk=lead.pk)


def test_a_misspelt_field_is_refused_naming_the_field_meant_and_nothing_changes(
    org_a, admin_a, rep_a, lead
):
    client = api_client(admin_a, org_a)
    before = _stored(org_a, lead)
    response = client.patch(
        f"/api/v1/leads/{lead.pk}/",
        {"contact_name": "Dee Drops", "asigned_to": str(rep_a.pk)},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"] == {
        "asigned_to": [
            "Unknown field: there is no field of this name here. Did you mean “assigned_to”?"
        ]
    }
    after = _stored(org_a, lead)
    assert (after.contact_name, after.assigned_to_id, after.updated_at) == (
        before.contact_name,
        before.assigned_to_id,
        before.updated_at,
    )


def test_a_new_row_with_an_unknown_field_is_not_created(org_a, admin_a):
    client = api_client(admin_a, org_a)
    response = client.post("/api/v1/tasks/", {"title": "Call back", "colour": "red"}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["details"]) == ["colour"]
    assert count_rows(org_a, Task, title="Call back") == 0


def test_what_an_answer_showed_may_be_sent_back(org_a, admin_a, lead):
    client = api_client(admin_a, org_a)
    shown = client.get(f"/api/v1/leads/{lead.pk}/").json()
    response = client.patch(
        f"/api/v1/leads/{lead.pk}/", {**shown, "contact_name": "Dee Drops"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert _stored(org_a, lead).contact_name == "Dee Drops"


def test_an_unknown_field_in_a_nested_row_is_refused_where_it_is(org_a, admin_a):
    client = api_client(admin_a, org_a)
    body = {
        "name": "Roofing jobs",
        "stages": [{"name": "New", "probabilty": 10}],
    }
    response = client.post("/api/v1/pipelines/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"] == {
        "stages": {
            "0": {
                "probabilty": [
                    "Unknown field: there is no field of this name here."
                    " Did you mean “probability”?"
                ]
            }
        }
    }
    assert count_rows(org_a, Pipeline, name="Roofing jobs") == 0


def test_thousands_of_unknown_fields_are_reported_a_few(org_a, admin_a, lead):
    client = api_client(admin_a, org_a)
    body = {f"field_{n}": n for n in range(10_000)}
    response = client.patch(f"/api/v1/leads/{lead.pk}/", body, format="json")
    assert response.status_code == 400
    assert len(response.json()["error"]["details"]) == MOST_UNKNOWN_FIELDS_REPORTED


def test_one_own_profile_says_what_may_be_changed(org_a, admin_a):
    response = api_client(admin_a, org_a).patch("/api/v1/me/", {"email": "x@y.example"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "email": ["Not a field you may change here: only full_name and time_zone."]
    }


def test_a_website_form_may_carry_fields_of_its_own(org_a):
    form = make_form(org_a)
    response = submit(form, {"utm_source": "newsletter"})
    assert response.status_code == 201, response.content


# Bodies written by others than API clients: a website's own form, and the providers'
# callbacks, whose payloads carry fields of their own.
OPEN_BODIES = {"SubmissionRequest", "CallReportRequest", "InboundRequest"}


def test_every_request_body_states_that_it_takes_no_other_fields(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    open_bodies = {
        (path, method, name)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        for body in operation.get("requestBody", {}).get("content", {}).values()
        if (name := body["schema"].get("$ref", "").rsplit("/", 1)[-1])
        and components[name].get("additionalProperties") is not False
    }
    assert {name for _, _, name in open_bodies} == OPEN_BODIES, open_bodies
