"""The OpenAPI schema is what the server does: answers validate against the schema served
at /api/schema/ (checked by schemathesis, as `make fuzz` does on every operation), every
operation documents the refusals it gives, operations that do not exist are not listed,
and a request the schema calls invalid is refused."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pytest
import requests
import schemathesis
from schemathesis.core.transport import Response

from accounts.models import Membership, Role
from leads import normalize
from leads.models import Interaction
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm
from tests.factories import api_client, make_member
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db
ERROR_SHAPE = {"code", "message", "details"}


@pytest.fixture
def schema(raw_schema):
    return schemathesis.openapi.from_dict(copy.deepcopy(raw_schema))


def conforms(schema, path: str, method: str, response) -> None:
    """The answer of the test client validates against the operation's schema (body and
    status code); schemathesis raises on any difference."""
    answer = Response(
        status_code=response.status_code,
        headers={key: [value] for key, value in response.items()},
        content=response.content,
        request=requests.Request(method, f"http://testserver{path}").prepare(),
        elapsed=0.0,
        verify=True,
    )
    schema[path][method].validate_response(answer)


def test_answers_with_stored_blanks_and_nulls_keep_to_the_schema(schema, org_a, admin_a):
    """An interaction without outcome, a lead without email, website or assignee, a
    membership nobody invited, a campaign's calling hours: as stored, as declared."""
    lead = make_lead(org_a, company={"name": "Bare Roofing"})
    with tenant_context(org_a):
        Interaction.objects.create(organization=org_a, lead=lead, type="note", subject="x")
        assert Membership.objects.filter(invited_by__isnull=True).exists()
    crm.campaign(org_a)
    client = api_client(admin_a, org_a)
    assert lead.contact_email == "" and lead.assigned_to is None
    for path, template in [
        (f"/api/v1/leads/{lead.pk}/", "/api/v1/leads/{id}/"),
        ("/api/v1/leads/", "/api/v1/leads/"),
        ("/api/v1/interactions/", "/api/v1/interactions/"),
        ("/api/v1/memberships/", "/api/v1/memberships/"),
        ("/api/v1/campaigns/", "/api/v1/campaigns/"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        conforms(schema, template, "GET", response)


def test_a_members_role_answered_null_to_a_rep_keeps_to_the_schema(schema, org_a, admin_a, rep_a):
    """A sales rep, who reads members but not roles, is answered `role: null`."""
    with tenant_context(org_a):
        membership = Membership.objects.get(user=admin_a)
    client = api_client(rep_a, org_a)
    for path, template in [
        ("/api/v1/users/", "/api/v1/users/"),
        (f"/api/v1/users/{admin_a.pk}/", "/api/v1/users/{id}/"),
        ("/api/v1/memberships/", "/api/v1/memberships/"),
        (f"/api/v1/memberships/{membership.pk}/", "/api/v1/memberships/{id}/"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, response.content
        rows = response.json().get("results", [response.json()])
        assert [row["role"] for row in rows] == [None] * len(rows)
        conforms(schema, template, "GET", response)


def test_a_lapsed_invitation_keeps_to_the_schema(schema, raw_schema, org_a, admin_a):
    """An invitation whose sender may no longer send it is answered "lapsed", one of the
    statuses the schema lists."""
    sender = make_member(org_a, "org_admin")
    sent = api_client(sender, org_a).post(
        "/api/v1/users/", {"email": "lapsing@example.test", "role": str(_role_id(org_a))}
    )
    assert sent.status_code == 202, sent.content
    with tenant_context(org_a):
        Membership.objects.filter(user=sender).update(is_active=False)
    client = api_client(admin_a, org_a)
    for path, template in [
        ("/api/v1/invitations/", "/api/v1/invitations/"),
        (f"/api/v1/invitations/{sent.json()['id']}/", "/api/v1/invitations/{id}/"),
    ]:
        response = client.get(path)
        assert response.json().get("results", [response.json()])[0]["status"] == "lapsed"
        conforms(schema, template, "GET", response)
    status = raw_schema["components"]["schemas"]["Invitation"]["properties"]["status"]
    enum = raw_schema["components"]["schemas"]["InvitationStatusEnum"]["enum"]
    assert status["allOf"] == [{"$ref": "#/components/schemas/InvitationStatusEnum"}]
    assert set(enum) == {"pending", "lapsed", "expired", "accepted", "revoked"}


def _role_id(organization):
    with tenant_context(organization):
        return Role.objects.get(slug="sales_rep").pk


def test_task_lists_answer_pages_of_whole_tasks(schema, org_a, rep_a, midday):
    # Overdue and due today: a second before the pinned noon (tests.clock).
    crm.task(org_a, assigned_to=rep_a, due_at=midday - dt.timedelta(seconds=1))
    client = api_client(rep_a, org_a)
    for name in ("mine", "overdue", "due-today"):
        response = client.get(f"/api/v1/tasks/{name}/")
        assert "ai_call" in response.json()["results"][0], name
        conforms(schema, f"/api/v1/tasks/{name}/", "GET", response)


def test_a_leads_duplicates_are_one_list_as_documented(schema, raw_schema, org_a, admin_a):
    lead = make_lead(org_a, company={"name": "Drip Co", "phone": "01632 960001"})
    make_lead(org_a, company={"name": "Drip Copy", "phone": "01632 960001"})
    response = api_client(admin_a, org_a).get(f"/api/v1/leads/{lead.pk}/duplicates/")
    assert isinstance(response.json(), list) and len(response.json()) == 1
    conforms(schema, "/api/v1/leads/{id}/duplicates/", "GET", response)
    documented = raw_schema["paths"]["/api/v1/leads/{id}/duplicates/"]["get"]["responses"]
    assert documented["200"]["content"]["application/json"]["schema"]["type"] == "array"


@pytest.mark.parametrize("resource", ["leads", "opportunities"])
def test_a_records_shares_answer_as_documented(schema, resource, org_a, admin_a, rep_a2):
    record = make_lead(org_a) if resource == "leads" else crm.opportunity(org_a)
    client = api_client(admin_a, org_a)
    shares = f"/api/v1/{resource}/{record.pk}/shares/"
    template = f"/api/v1/{resource}/{{id}}/shares/"
    one, one_template = f"{shares}{rep_a2.pk}/", f"{template}{{user_id}}/"
    for method, path, body, status in [
        ("POST", shares, {"user": str(rep_a2.pk), "access": "update"}, 201),
        ("POST", shares, {"user": str(rep_a2.pk), "access": "update"}, 200),
        ("POST", shares, {"user": str(admin_a.pk)}, 400),
        ("GET", shares, None, 200),
        ("DELETE", one, None, 204),
        ("DELETE", one, None, 404),
    ]:
        response = client.generic(method, path, json.dumps(body), "application/json")
        assert response.status_code == status, (method, body, response.content)
        conforms(schema, one_template if path == one else template, method, response)


def test_operations_that_do_not_exist_are_not_in_the_schema(raw_schema, org_a, admin_a):
    paths = raw_schema["paths"]
    assert "post" not in paths["/api/v1/contracts/"]
    assert "post" not in paths["/api/v1/ai-calls/"]
    assert {"put", "patch"}.isdisjoint(paths["/api/v1/ai-calls/{id}/"])
    client = api_client(admin_a, org_a)
    refused = client.post("/api/v1/contracts/", {"title": "X"}, format="json")
    assert refused.status_code == 405
    assert set(refused.json()["error"]) == ERROR_SHAPE


def test_every_operation_documents_its_refusals_in_the_error_shape(raw_schema):
    for path, operations in raw_schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = set(operation["responses"])
            assert "401" in codes, (method, path)
            if "{id}" in path:
                assert {"400", "404"} <= codes, (method, path)
            if method != "get" and operation.get("security") not in (None, [], [{}]):
                assert "409" in codes, (method, path)
            refusal = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert refusal == {"$ref": "#/components/schemas/Error"}
    assert {"403", "429"} <= set(raw_schema["paths"]["/api/v1/auth/token/"]["post"]["responses"])


def test_object_ids_in_paths_are_uuids(raw_schema):
    parameters = raw_schema["paths"]["/api/v1/leads/{id}/restore/"]["post"]["parameters"]
    assert {"type": "string", "format": "uuid"} in [p["schema"] for p in parameters]


@pytest.mark.parametrize("value", ["null", "abc", "0", "-5", "2.5", ""])
def test_a_page_size_that_is_no_whole_number_from_one_is_refused(org_a, admin_a, value):
    client = api_client(admin_a, org_a)
    for path in ("/api/v1/leads/", "/api/v1/audit-logs/", "/api/v1/auth/tokens/"):
        response = client.get(path, {"page_size": value})
        assert response.status_code == 400, path
        assert "page_size" in response.json()["error"]["details"]


def test_a_page_size_above_the_maximum_lists_the_maximum(org_a, admin_a):
    for n in range(3):
        make_lead(org_a, company={"name": f"Many {n}"})
    response = api_client(admin_a, org_a).get("/api/v1/leads/", {"page_size": "100000"})
    assert response.status_code == 200 and len(response.json()["results"]) == 3


def test_bounded_parameters_declare_and_keep_their_bounds(raw_schema, org_a, admin_a):
    parameters = raw_schema["paths"]["/api/v1/opportunities/forecast/"]["get"]["parameters"]
    months = next(p for p in parameters if p["name"] == "months")
    assert (months["schema"]["minimum"], months["schema"]["maximum"]) == (1, 24)
    client = api_client(admin_a, org_a)
    for value in ("0", "25", "x", ""):
        response = client.get("/api/v1/opportunities/forecast/", {"months": value})
        assert response.status_code == 400
        assert "months" in response.json()["error"]["details"]
    assert client.get("/api/v1/opportunities/forecast/", {"months": "24"}).status_code == 200


def test_a_time_filter_that_is_no_iso_date_time_is_refused(org_a, admin_a):
    client = api_client(admin_a, org_a)
    for value in ("yesterday", "2026-13-01T00:00:00Z"):
        response = client.get("/api/v1/audit-logs/", {"until": value})
        assert response.status_code == 400
        assert "until" in response.json()["error"]["details"]
    # given empty, as a filter form submits it, it does not filter (and the schema says so)
    assert client.get("/api/v1/audit-logs/", {"until": ""}).status_code == 200


def test_a_put_without_a_body_is_refused_and_changes_nothing(org_a, admin_a, rep_a):
    client = api_client(admin_a, org_a)
    before = client.get(f"/api/v1/users/{rep_a.pk}/").json()
    response = client.put(f"/api/v1/users/{rep_a.pk}/")
    assert response.status_code == 400
    assert set(response.json()["error"]) == ERROR_SHAPE
    assert client.get(f"/api/v1/users/{rep_a.pk}/").json() == before


def test_text_fields_take_text_only(org_a, admin_a):
    client = api_client(admin_a, org_a)
    response = client.post("/api/v1/tags/", {"name": "vans", "description": 0}, format="json")
    assert response.status_code == 400
    assert "description" in response.json()["error"]["details"]
    assert client.get("/api/v1/tags/").json()["count"] == 0


def test_the_schema_refuses_what_the_server_refuses(raw_schema):
    """An empty decimal and a null JSON value are refused by the server: the schema does
    not offer them."""
    components = raw_schema["components"]["schemas"]
    value = components["OpportunityUpdateRequest"]["properties"]["value"]
    assert value["pattern"] == r"^(\d{1,12}(\.\d{0,2})?|\.\d{1,2})$"
    settings = components["OrganizationRequest"]["properties"]["settings"]
    assert {"type": "null"} not in settings["anyOf"] and "nullable" not in settings
    subject_request = raw_schema["paths"]["/api/v1/compliance/requests/"]["post"]
    assert "404" in subject_request["responses"]  # a lead the user cannot see


def test_a_download_is_documented_as_the_type_it_was_stored_with(raw_schema):
    """A PDF is served as application/pdf, a text file as text/plain: any media type."""
    download = raw_schema["paths"]["/api/v1/attachments/{id}/download/"]["get"]
    assert list(download["responses"]["200"]["content"]) == ["*/*"]


def test_booleans_are_true_or_false_in_filters_and_bodies(org_a, admin_a):
    """DRF and django-filter read 1, 0, "yes" or null as booleans (or ignore them and do
    not filter); the schema says true or false, and the server does as it says."""
    client = api_client(admin_a, org_a)
    for value in ("1", "0", "null", "True", "yes"):
        response = client.get("/api/v1/companies/", {"is_customer": value})
        assert response.status_code == 400, value
        assert "is_customer" in response.json()["error"]["details"]
    for value in ("true", "false", ""):
        assert client.get("/api/v1/companies/", {"is_customer": value}).status_code == 200
    assert client.get("/api/v1/roles/", {"is_system": "1"}).status_code == 400
    for value in (1, "true", "on", None):
        response = client.post(
            "/api/v1/roles/", {"name": "Callers", "back_office": value}, format="json"
        )
        assert response.status_code == 400, value
        assert "back_office" in response.json()["error"]["details"]


def test_integers_are_json_integers_in_bodies(org_a, admin_a):
    """DRF reads "50", "50.0" and true as integers; the schema says an integer (a number
    with no fraction counts as one, as in JSON Schema)."""
    client = api_client(admin_a, org_a)
    url = f"/api/v1/leads/{make_lead(org_a, contact_name='Ann').pk}/"
    for value in ("50", "50.0", True, "", [50]):
        response = client.patch(url, {"score_override": value}, format="json")
        assert response.status_code == 400, value
        assert "score_override" in response.json()["error"]["details"]
    for value, stored in ((50, 50), (60.0, 60), (None, None)):
        response = client.patch(url, {"score_override": value}, format="json")
        assert response.status_code == 200, value
        assert response.json()["score_override"] == stored
    stage = client.get("/api/v1/pipeline-stages/").json()["results"][0]
    stage_url = f"/api/v1/pipeline-stages/{stage['id']}/"
    response = client.patch(stage_url, {"position": "12"}, format="json")
    assert response.status_code == 400 and "position" in response.json()["error"]["details"]
    assert client.get(stage_url).json()["position"] == stage["position"]


def test_an_empty_reference_is_no_null(org_a, admin_a):
    client = api_client(admin_a, org_a)
    response = client.post("/api/v1/teams/", {"name": "North", "manager": ""}, format="json")
    assert response.status_code == 400
    assert "manager" in response.json()["error"]["details"]
    response = client.post("/api/v1/teams/", {"name": "North", "manager": None}, format="json")
    assert response.status_code == 201


def test_a_parameter_given_twice_is_refused_unless_it_takes_several_values(org_a, admin_a):
    client = api_client(admin_a, org_a)
    for query in ("page=1&page=1", "search=a&search=b", "ordering=name&ordering=-name"):
        response = client.get(f"/api/v1/companies/?{query}")
        assert response.status_code == 400, query
        assert query.split("=")[0] in response.json()["error"]["details"]
    assert client.get("/api/v1/leads/?status=new&status=contacted").status_code == 200


def test_a_date_time_filter_with_any_offset_is_read_in_utc(org_a, admin_a):
    """PostgreSQL refuses an offset past ±15:59 that Python reads."""
    client = api_client(admin_a, org_a)
    response = client.get("/api/v1/leads/", {"created_after": "0327-02-06T06:34:44+19:24"})
    assert response.status_code == 200
    response = client.get("/api/v1/leads/", {"created_before": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    assert "created_before" in response.json()["error"]["details"]


def test_a_put_gives_the_whole_object_and_blank_text_is_refused(raw_schema, org_a, admin_a):
    client = api_client(admin_a, org_a)
    tag = client.post("/api/v1/tags/", {"name": "vans"}, format="json").json()
    response = client.put(f"/api/v1/tags/{tag['id']}/", {"color": "#112233"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]
    response = client.patch(f"/api/v1/tags/{tag['id']}/", {"name": "  "}, format="json")
    assert response.status_code == 400
    assert client.get(f"/api/v1/tags/{tag['id']}/").json()["name"] == "vans"
    name = raw_schema["components"]["schemas"]["PatchedTagRequest"]["properties"]["name"]
    assert re.search(name["pattern"], "  ") is None and re.search(name["pattern"], " a ")


def test_the_schema_states_bounds_and_forms_the_server_checks(raw_schema, org_a, admin_a):
    """A percentage of at most 100, a quantity of at least 0.01, a score filter of 0–100
    and a website's form are in the schema, as patterns or bounds."""
    components = raw_schema["components"]["schemas"]
    probability = components["OpportunityUpdateRequest"]["properties"]["probability"]
    quantity = components["LineInputRequest"]["properties"]["quantity"]
    for pattern, good, bad in (
        (probability["pattern"], ("100", "100.00", "99.99", "0"), ("100.01", "101", "-1")),
        (quantity["pattern"], ("0.01", "1", "100.5"), ("0", "0.00", ".0", "-1")),
    ):
        assert all(re.search(pattern, value) for value in good), pattern
        assert not any(re.search(pattern, value) for value in bad), pattern
    parameters = raw_schema["paths"]["/api/v1/leads/"]["get"]["parameters"]
    score_min = next(p for p in parameters if p["name"] == "score_min")["schema"]["anyOf"][0]
    assert (score_min["minimum"], score_min["maximum"]) == (0, 100)
    website = components["CompanyRequest"]["properties"]["website"]["oneOf"]
    assert {"type": "string", "maxLength": 0} in website  # no website
    assert website[0]["pattern"] == normalize.WEBSITE_PATTERN
    client = api_client(admin_a, org_a)
    for value in ("localhost", "https://user@example.com", "ftp://example.com"):
        response = client.post(
            "/api/v1/companies/", {"name": "Webless", "website": value}, format="json"
        )
        assert response.status_code == 400, value
    response = client.post(
        "/api/v1/companies/", {"name": "Webbed", "website": "shop.example.co.uk"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["website"] == "https://shop.example.co.uk"


def test_a_persons_name_and_an_upload_are_stated_as_the_server_checks_them(
    raw_schema, org_a, admin_a
):
    """A person's name is one line: the schema's pattern is the text every name must be
    (it was the control character a name must not hold, so the schema called every good
    name invalid). An uploaded file is one byte at least."""
    components = raw_schema["components"]["schemas"]
    for name in ("PatchedMeUpdateRequest", "InvitationAcceptRequest"):
        pattern = components[name]["properties"]["full_name"]["oneOf"][0]["pattern"]
        assert all(re.search(pattern, v) for v in ("Riley O'Brien", ".exe", "Zoë")), name
        assert not any(re.search(pattern, v) for v in ("Riley\nO'Brien", "tab\there")), name
    client = api_client(admin_a, org_a)
    for value, status in (("Riley O'Brien", 200), ("Riley\nO'Brien", 400)):
        response = client.patch("/api/v1/me/", {"full_name": value}, format="json")
        assert response.status_code == status, value
    assert components["AttachmentUploadRequest"]["properties"]["file"]["minLength"] == 1
