"""Hostile input is a 4xx in the API's error shape, never a server error.

Every operation of the OpenAPI schema that takes a body is sent a deeply nested body, a
NUL character, a number that is not finite and an oversized body; every read operation a
NUL in a query parameter.
The operations are read from the schema, so a new endpoint is covered as it is added.
Detail paths are filled with a row of the demo data (`seed_demo`, loaded once for the
module and rolled back after it).
"""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import Organization
from accounts.services import role_create
from leads.models import Lead, LeadForm
from mailing import services as mailing_services
from smartweb.json_input import NOT_FINITE_MESSAGE
from smartweb.tenancy.context import tenant_context
from sso import session as sso_session
from tests import factories
from tests.crm.factories import signed_headers, webhook_secret
from tests.leads.factories import EnrichmentFactory
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

PARAMETER = re.compile(r"\{[^}]+\}")
WEBHOOK = "/api/v1/webhooks/ai-calls/"
INBOUND_EMAIL = "/api/v1/webhooks/inbound-email/"
TOKEN = "/api/v1/auth/token/"
FORM_SUBMIT = "/api/v1/forms/{public_key}/submit/"
SSO_TOKEN = "/api/v1/auth/sso-token/"


def _operations() -> list[tuple[str, str, dict]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


OPERATIONS = _operations()
WITH_BODY = [
    pytest.param(method, path, id=f"{method} {path}")
    for method, path, operation in OPERATIONS
    if "application/json" in operation.get("requestBody", {}).get("content", {})
]
READS = [
    pytest.param(
        path,
        next(
            (p["name"] for p in operation.get("parameters", []) if p["in"] == "query"),
            "q",
        ),
        id=path,
    )
    for method, path, operation in OPERATIONS
    if method == "GET"
]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo organizations and their sales data, for every test of the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=io.StringIO())
        organization = Organization.objects.get(slug="demo")
        with tenant_context(organization):
            role_create(name="Custom", grants={("leads", "read"): "own"})
            EnrichmentFactory(organization=organization, lead=Lead.objects.first())
            # The demo has no webhook endpoint; an idle one, on a closed loopback port.
            with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
                endpoint_create(
                    acting_user=None,
                    url="http://127.0.0.1:9/hooks",
                    event_types=["lead.created"],
                    is_active=False,
                )
        yield organization
        transaction.set_rollback(True)


@pytest.fixture
def platform_admin(demo):
    """An organization admin who is also a platform super admin: nothing is refused
    for want of a permission, so every refusal below is the input's."""
    return factories.make_member(demo, "org_admin", is_superuser=True)


def _filled(client, path: str, organization) -> str:
    """The path with each parameter replaced by a row the client lists in the collection
    before it: its own organization's, or else one that is not a read-only system row."""
    while match := PARAMETER.search(path):
        listed = client.get(path[: match.start()]).json()
        rows = listed["results"] if isinstance(listed, dict) else listed
        ids = [row["id"] for row in rows if row["id"] == str(organization.pk)] or [
            row["id"] for row in rows if not row.get("is_system")
        ]
        path = path[: match.start()] + (ids[0] if ids else str(uuid.uuid4())) + path[match.end() :]
    return path


def _provider_session(organization) -> Client:
    """A back-office session of an admin of `organization`, marked as signed in through
    its identity provider (what the callback leaves in the session)."""
    user = factories.make_member(organization, "org_admin")
    client = Client()
    client.force_login(user)
    stored = client.session
    stored[sso_session.SESSION_KEY] = {
        "user": str(user.pk),
        "organization": str(organization.pk),
        "provider": str(uuid.uuid4()),
    }
    stored.save()
    return client


def _send(client, method: str, path: str, body: bytes, organization, **extra):
    if path == WEBHOOK:
        extra.update(signed_headers(organization, webhook_secret(organization), body))
    if path == INBOUND_EMAIL:
        with tenant_context(organization):
            secret = mailing_services.inbound_secret_rotate(acting_user=None)
        extra.update(signed_headers(organization, secret, body))
    if path == SSO_TOKEN:  # a session signed in through the provider, not a token
        client = _provider_session(organization)
    if path == FORM_SUBMIT:  # public: the key is not listed, the demo's form has one
        with tenant_context(organization):
            path = path.replace("{public_key}", LeadForm.objects.first().public_key)
    return client.generic(
        method, _filled(client, path, organization), body, content_type="application/json", **extra
    )


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


@pytest.mark.parametrize("method, path", WITH_BODY)
def test_a_deeply_nested_body_is_refused(method, path, demo, platform_admin, settings):
    settings.LEAD_FORM_MAX_BODY_BYTES = 100_000  # the public form's own limit is lower
    client = factories.api_client(platform_admin, demo)
    response = _send(client, method, path, b"[" * 50_000, demo)
    error = _error(response, 400)
    assert "nested deeper than 32" in json.dumps(error["details"])


@pytest.mark.parametrize("method, path", WITH_BODY)
def test_a_body_nested_past_the_limit_names_where(method, path, demo, platform_admin):
    nested: object = "x"
    for _ in range(40):
        nested = {"a": nested}
    client = factories.api_client(platform_admin, demo)
    response = _send(client, method, path, json.dumps({"metadata": nested}).encode(), demo)
    error = _error(response, 400)
    assert list(error["details"]) == ["metadata" + ".a" * 31]


@pytest.mark.parametrize("method, path", WITH_BODY)
def test_a_nul_character_anywhere_in_a_body_is_refused_naming_the_field(
    method, path, demo, platform_admin
):
    client = factories.api_client(platform_admin, demo)
    body = json.dumps({"notes": {"items": ["fine", "bad\u0000text"]}}).encode()
    error = _error(_send(client, method, path, body, demo), 400)
    assert error["details"] == {"notes.items.1": ["Null characters are not allowed."]}


@pytest.mark.parametrize("method, path", WITH_BODY)
def test_a_number_that_is_not_finite_anywhere_in_a_body_is_refused_naming_the_field(
    method, path, demo, platform_admin
):
    """`NaN` (as Python writes it; not JSON) is not taken for a missing value."""
    client = factories.api_client(platform_admin, demo)
    body = b'{"notes": {"items": [1, NaN]}}'
    error = _error(_send(client, method, path, body, demo), 400)
    assert error["details"] == {"notes.items.1": [NOT_FINITE_MESSAGE]}


@pytest.mark.parametrize("method, path", WITH_BODY)
def test_an_oversized_body_is_refused(method, path, demo, platform_admin, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = factories.api_client(platform_admin, demo)
    body = json.dumps({"notes": "x" * 2000}).encode()
    error = _error(_send(client, method, path, body, demo), 413)
    assert error["code"] == "too_large"


@pytest.mark.parametrize("path, parameter", READS)
def test_a_nul_character_in_a_query_parameter_is_refused_naming_it(
    path, parameter, demo, platform_admin
):
    client = factories.api_client(platform_admin, demo)
    response = client.get(_filled(client, path, demo), {parameter: "new\u0000"})
    error = _error(response, 400)
    assert error["details"] == {parameter: ["Null characters are not allowed."]}


def test_every_view_parses_bodies_with_the_one_json_parser():
    """Except the attachments' upload, which reads multipart/form-data (its file is
    checked on its content: attachments.content)."""
    from rest_framework.parsers import MultiPartParser

    from smartweb.api.parsers import JSONParser

    for _, path, _ in OPERATIONS:
        match = resolve(PARAMETER.sub(str(uuid.uuid4()), path))
        view = getattr(match.func, "cls", None) or match.func.view_class
        expected = MultiPartParser if path.startswith("/api/v1/attachments/") else JSONParser
        assert [type(p) for p in view().get_parsers()] == [expected], path


def test_the_token_endpoint_refuses_hostile_bodies_before_any_sign_in(db):
    client = APIClient()
    _error(client.post(TOKEN, b"[" * 50_000, content_type="application/json"), 400)
    body = json.dumps({"email": "a@b.test", "password": "x\u0000"}).encode()
    error = _error(client.post(TOKEN, body, content_type="application/json"), 400)
    assert error["details"] == {"password": ["Null characters are not allowed."]}


@pytest.mark.parametrize(
    "path",
    ["/forms/%00/", "/api/v1/leads/%00/", "/admin/leads/lead/%00/change/", "/%00"],
)
def test_a_nul_character_in_the_path_is_a_bad_request(path, demo, platform_admin):
    client = factories.session_client(platform_admin)
    response = client.get(path)
    assert response.status_code == 400
    assert b"Null characters are not allowed." in response.content


def test_the_admin_has_no_view_on_site_redirect(demo, platform_admin):
    """It fetched a row of any table by content type and id (the change log's among
    them); no model has a page outside the admin to redirect to."""
    client = factories.session_client(platform_admin)
    assert client.get("/admin/r/1/1/").status_code == 404


def test_admin_search_with_a_nul_character_is_a_bad_request(demo, platform_admin):
    client = factories.session_client(platform_admin)
    response = client.get("/admin/leads/lead/", {"q": "x\u0000"})
    assert response.status_code == 400
    assert b"Null characters are not allowed." in response.content


# --- roles ------------------------------------------------------------------------


def test_a_partial_permission_in_a_role_patch_is_refused(org_a, admin_a):
    client = factories.api_client(admin_a, org_a)
    grant = {"resource": "leads", "action": "read", "scope": "own"}
    role = client.post("/api/v1/roles/", {"name": "Helpers", "permissions": [grant]}).json()
    response = client.patch(f"/api/v1/roles/{role['id']}/", {"permissions": [{}]})
    error = _error(response, 400)
    assert set(error["details"]["permissions"]["0"]) == {"resource", "action", "scope"}
    unchanged = client.get(f"/api/v1/roles/{role['id']}/").json()["permissions"]
    assert unchanged == [grant]


# --- Django's error pages ---------------------------------------------------------


@override_settings(DEBUG=False)
def test_an_unknown_api_url_is_a_json_404_and_elsewhere_an_html_page(org_a, admin_a):
    error = _error(factories.api_client(admin_a, org_a).get("/api/v1/no-such-thing/"), 404)
    assert error["code"] == "not_found"
    assert _error(APIClient().get("/api/nowhere"), 404)["code"] == "not_found"
    page = factories.session_client(admin_a).get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def _failing(monkeypatch, cls, name):
    def fail(*args, **kwargs):
        raise RuntimeError("a fault")

    monkeypatch.setattr(cls, name, fail)


@override_settings(DEBUG=False)
def test_a_server_error_under_the_api_is_json_and_elsewhere_an_html_page(
    org_a, admin_a, monkeypatch
):
    from django.contrib import admin

    from accounts.api import views

    _failing(monkeypatch, views.MeView, "get")
    _failing(monkeypatch, type(admin.site._wrapped), "each_context")
    client = factories.api_client(admin_a, org_a)
    client.raise_request_exception = False
    error = _error(client.get("/api/v1/me/"), 500)
    assert error == {"code": "server_error", "message": "A server error occurred.", "details": {}}
    browser = factories.session_client(admin_a)
    browser.raise_request_exception = False
    page = browser.get("/admin/")
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


def test_me_returns_the_organization_settings_as_an_object(org_a, admin_a):
    Organization.objects.filter(pk=org_a.pk).update(settings={"currency": "EUR"})
    me = factories.api_client(admin_a, org_a).get("/api/v1/me/").json()
    assert me["organization"]["settings"] == {"currency": "EUR"}
