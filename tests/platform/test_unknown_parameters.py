"""A query parameter an operation does not take is refused at its name, never ignored
(ADR 0055): `?staus=won` answered with every lead is a list the client believes filtered.
What an operation takes is what its schema declares; nothing is read or written; the
permission checks come first, as before; the public form and the providers' callbacks keep
taking parameters of their own."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from django.test import Client

from crm.models import Task
from leads.models import Lead
from mailing import services as mailing
from smartweb import signing
from smartweb.api.serializers import MOST_UNKNOWN_FIELDS_REPORTED
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm
from tests.factories import UserFactory, api_client, count_rows, session_client
from tests.leads.factories import make_lead
from tests.leads.test_lead_form import make_form, submit

pytestmark = pytest.mark.django_db

MADE_UP = "zz_made_up"
UNKNOWN = "Unknown parameter: there is no parameter of this name here."
# Operations whose query strings others write: a website's form (its own tracking
# parameters), the providers' callbacks (whatever their set-up appends).
OPEN_QUERIES = {
    ("post", "/api/v1/forms/{public_key}/submit/"),
    ("post", "/api/v1/webhooks/ai-calls/"),
    ("post", "/api/v1/webhooks/inbound-email/"),
}

# Operations a platform admin alone may call (others are refused before the parameters).
PLATFORM_ADMINS_ONLY = {("post", "/api/v1/organizations/")}


def _details(response) -> dict:
    return response.json()["error"]["details"]


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _url(path: str, operation: dict) -> str:
    """The path with made-up ids: the parameters are checked before any row is looked up."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            value = str(uuid.uuid4()) if parameter["schema"].get("format") == "uuid" else "x"
            path = path.replace(f"{{{parameter['name']}}}", value)
    return path


def _declared(operation: dict) -> dict[str, str]:
    """Each query parameter the operation declares, with a value of its form where the
    value is read before the names are checked (`format`), empty otherwise."""
    return {
        p["name"]: p["schema"].get("enum", [""])[0]
        for p in operation.get("parameters", [])
        if p["in"] == "query"
    }


def test_every_operation_takes_what_it_declares_and_refuses_a_made_up_parameter(
    raw_schema, org_a, admin_a
):
    # Sessions: the one kind of sign-in every operation takes (SSO's token needs one).
    client = session_client(admin_a, org_a)
    platform_admin = session_client(UserFactory(is_superuser=True))
    answered = {}
    for path, method, operation in _operations(raw_schema):
        query = {**(_declared(operation) if method == "get" else {}), MADE_UP: "1"}
        url = _url(path, operation)
        asking = platform_admin if (method, path) in PLATFORM_ADMINS_ONLY else client
        response = asking.generic(method.upper(), url, QUERY_STRING=urlencode(query))
        refused = response.status_code == 400 and MADE_UP in _details(response)
        answered[(method, path)] = (
            _details(response) if refused else response.status_code,
            (method, path) not in OPEN_QUERIES,
        )
    wrong = {
        operation: answer
        for operation, (answer, must_refuse) in answered.items()
        if (answer == {MADE_UP: [UNKNOWN]}) is not must_refuse
    }
    assert not wrong, wrong
    assert len(answered) > 200


def test_a_misspelt_filter_is_refused_naming_the_filter_meant(org_a, admin_a):
    make_lead(org_a)
    client = api_client(admin_a, org_a)
    response = client.get("/api/v1/leads/", {"staus": "won"})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert _details(response) == {"staus": [f"{UNKNOWN} Did you mean “status”?"]}
    # A name like none: no guess.
    assert _details(client.get("/api/v1/leads/", {"xyzzy": "1"})) == {"xyzzy": [UNKNOWN]}


def test_thousands_of_made_up_parameters_are_reported_a_few(org_a, admin_a):
    query = {f"p{n}": "1" for n in range(500)}
    response = api_client(admin_a, org_a).get("/api/v1/leads/", query)
    assert response.status_code == 400
    assert len(_details(response)) == MOST_UNKNOWN_FIELDS_REPORTED


def test_a_write_with_a_made_up_parameter_writes_nothing(org_a, admin_a, rep_a):
    client = api_client(admin_a, org_a)
    created = client.post("/api/v1/tasks/?notify=1", {"title": "Call back"}, format="json")
    assert created.status_code == 400 and list(_details(created)) == ["notify"]
    assert count_rows(org_a, Task, title="Call back") == 0
    lead = make_lead(org_a, contact_name="Dee Drop")
    edited = client.patch(
        f"/api/v1/leads/{lead.pk}/?asigned_to={rep_a.pk}", {"contact_name": "Dee"}, format="json"
    )
    assert edited.status_code == 400 and list(_details(edited)) == ["asigned_to"]
    with tenant_context(org_a):
        assert Lead.objects.get(pk=lead.pk).contact_name == "Dee Drop"


def test_the_permission_checks_come_first(org_a, admin_a, rep_a, readonly_a):
    # Signed out: 401; a role without the right: 403, the parameter unread.
    assert Client().get("/api/v1/leads/", {"staus": "won"}).status_code == 401
    assert api_client(rep_a, org_a).get("/api/v1/audit-logs/", {"x": "1"}).status_code == 403
    refused = api_client(readonly_a, org_a).post("/api/v1/tasks/?x=1", {}, format="json")
    assert refused.status_code == 403


def test_another_organizations_row_is_still_not_found(org_a, org_b, admin_b):
    lead = make_lead(org_a)
    client = api_client(admin_b, org_b)
    assert client.get(f"/api/v1/leads/{lead.pk}/", {"format": "json"}).status_code == 404
    listed = client.get("/api/v1/leads/", {"status": lead.status, "ordering": "-lead_score"})
    assert listed.status_code == 200 and listed.json()["results"] == []


def test_a_format_no_renderer_has_is_refused_at_format(org_a, admin_a):
    client = api_client(admin_a, org_a)
    assert client.get("/api/v1/leads/", {"format": "json"}).status_code == 200
    browsable = client.get("/api/v1/leads/", {"format": "api"})
    assert browsable.status_code == 200 and browsable["Content-Type"].startswith("text/html")
    response = client.get("/api/v1/leads/", {"format": "xml"})
    assert response.status_code == 400
    assert _details(response) == {"format": ["One of: json, api."]}


def _signed_post(url: str, body: dict, headers: dict):
    return Client().post(url, json.dumps(body), content_type="application/json", **headers)


def test_the_public_form_and_the_callbacks_take_parameters_of_their_own(org_a):
    submitted = submit(make_form(org_a), QUERY_STRING="utm_source=newsletter&gclid=abc")
    assert submitted.status_code == 201, submitted.content

    call = crm.ai_call(org_a)
    report = {"call_id": call.provider_call_id, "status": "no_answer"}
    headers = crm.signed_headers(org_a, crm.webhook_secret(org_a), json.dumps(report).encode())
    reported = _signed_post(f"/api/v1/webhooks/ai-calls/?{MADE_UP}=1", report, headers)
    assert reported.status_code == 200, reported.content

    with tenant_context(org_a):
        secret = mailing.inbound_secret_rotate(acting_user=None)
    bounce = {"event": "bounce", "message_id": "<b@x>", "bounced_address": "gone@nowhere.test"}
    signed = signing.signed_headers(secret, json.dumps(bounce).encode())
    headers = {
        "HTTP_X_ORGANIZATION": org_a.slug,
        "HTTP_X_TIMESTAMP": signed["X-Timestamp"],
        "HTTP_X_SIGNATURE": signed["X-Signature"],
    }
    received = _signed_post(f"/api/v1/webhooks/inbound-email/?{MADE_UP}=1", bounce, headers)
    assert received.status_code in (200, 201), received.content


@pytest.mark.parametrize("path", ["/healthz", "/api/schema/?format=json", "/api/docs/"])
def test_health_checks_and_the_docs_take_any_parameter(path):
    separator = "&" if "?" in path else "?"
    assert Client().get(f"{path}{separator}{MADE_UP}=1").status_code == 200
