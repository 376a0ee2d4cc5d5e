"""Who changed what, when and from where: every API change leaves a history entry with the
user, the client address (through the trusted proxies only), the user agent, the request
id (echoed in `X-Request-ID` and in the log lines) and each field's old and new value."""

import io
import logging
import re

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditLog
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def lead_a(org_a):
    return make_lead(org_a, contact_name="Ada Lovelace", notes="")


def _rename(client, lead, name="Ada King", **headers):
    response = client.patch(
        f"/api/v1/leads/{lead.pk}/", {"contact_name": name}, format="json", **headers
    )
    assert response.status_code == 200, response.content
    return response


def _latest(organization, lead):
    with tenant_context(organization):
        return Lead.history.filter(id=lead.pk).order_by("-history_date").first()


def test_a_change_records_who_where_and_the_request_id(org_a, admin_a, lead_a):
    client = factories.api_client(admin_a, org_a)

    response = _rename(
        client,
        lead_a,
        REMOTE_ADDR="192.0.2.44",
        HTTP_USER_AGENT="Quill browser 7",
        HTTP_X_REQUEST_ID="trace-0a1b2c3d4e",
    )

    assert response["X-Request-ID"] == "trace-0a1b2c3d4e"
    record = _latest(org_a, lead_a)
    assert record.history_user_id == admin_a.pk
    assert record.history_ip_address == "192.0.2.44"
    assert record.history_user_agent == "Quill browser 7"
    assert record.history_request_id == "trace-0a1b2c3d4e"


def test_the_history_endpoint_shows_old_and_new_values_newest_first(org_a, admin_a, lead_a):
    client = factories.api_client(admin_a, org_a)
    _rename(client, lead_a, "Ada King", HTTP_X_REQUEST_ID="first-rename-1")
    _rename(client, lead_a, "Augusta Ada King", HTTP_X_REQUEST_ID="second-rename-2")

    body = client.get(f"/api/v1/leads/{lead_a.pk}/history/").json()

    newest, previous, created = body["results"]
    assert [e["type"] for e in body["results"]] == ["changed", "changed", "created"]
    assert newest["changes"] == {"contact_name": {"old": "Ada King", "new": "Augusta Ada King"}}
    assert previous["changes"] == {"contact_name": {"old": "Ada Lovelace", "new": "Ada King"}}
    assert newest["user"] == {"id": str(admin_a.pk), "email": admin_a.email}
    assert newest["request_id"] == "second-rename-2"
    assert newest["ip_address"] == "127.0.0.1"
    assert created["changes"]["contact_name"] == {"old": None, "new": "Ada Lovelace"}
    assert created["user"] is None  # written by a factory, not a person


def test_a_soft_delete_is_a_deleted_entry(org_a, admin_a, lead_a):
    client = factories.api_client(admin_a, org_a)
    assert client.delete(f"/api/v1/leads/{lead_a.pk}/").status_code == 204

    with tenant_context(org_a):
        record = Lead.history.filter(id=lead_a.pk).order_by("-history_date").first()
    assert record.history_type == "~" and record.deleted_at is not None
    # The deleted row is no longer readable, its history neither (404, as the row).
    assert client.get(f"/api/v1/leads/{lead_a.pk}/history/").status_code == 404
    assert client.post(f"/api/v1/leads/{lead_a.pk}/restore/").status_code == 200
    entries = client.get(f"/api/v1/leads/{lead_a.pk}/history/").json()["results"]
    assert [e["type"] for e in entries] == ["changed", "deleted", "created"]
    assert entries[0]["changes"]["deleted_at"]["new"] is None


def test_a_forged_forwarded_for_is_ignored_without_trusted_proxies(org_a, admin_a, lead_a):
    client = factories.api_client(admin_a, org_a)

    _rename(client, lead_a, REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert _latest(org_a, lead_a).history_ip_address == "192.0.2.10"


def test_through_one_trusted_proxy_the_client_is_the_entry_the_proxy_appended(
    settings, org_a, admin_a, lead_a
):
    settings.TRUSTED_PROXY_COUNT = 1
    client = factories.api_client(admin_a, org_a)

    # The client wrote 198.51.100.1 itself; the proxy (10.0.0.2) appended 203.0.113.5.
    _rename(
        client,
        lead_a,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5",
    )

    assert _latest(org_a, lead_a).history_ip_address == "203.0.113.5"


def test_the_security_audit_log_reads_the_same_address_and_request_id(settings, org_a, admin_a):
    settings.TRUSTED_PROXY_COUNT = 1
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"email": admin_a.email, "password": factories.PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5",
        HTTP_X_REQUEST_ID="login-trace-77",
    )

    assert response.status_code == 201
    with tenant_context(org_a):
        event = AuditLog.objects.get(action="auth.login")
    assert (event.ip_address, event.request_id) == ("203.0.113.5", "login-trace-77")


@pytest.mark.parametrize("incoming", [None, "short", "has spaces in it", "x" * 200])
def test_a_missing_or_malformed_request_id_is_replaced(client, incoming):
    headers = {"HTTP_X_REQUEST_ID": incoming} if incoming else {}

    response = client.get("/healthz", **headers)

    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


def test_log_lines_of_a_request_carry_its_id(client):
    console = next(h for h in logging.getLogger().handlers if h.filters)
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.filters = list(console.filters)
    capture.setFormatter(console.formatter)
    logging.getLogger().addHandler(capture)
    try:
        response = client.get("/api/v1/no-such-thing/", HTTP_X_REQUEST_ID="log-trace-4242")
    finally:
        logging.getLogger().removeHandler(capture)

    assert response.status_code == 404
    assert "[log-trace-4242] Not Found: /api/v1/no-such-thing/" in stream.getvalue()


def test_the_admin_history_page_shows_where_each_change_came_from(client, org_a, admin_a, lead_a):
    _rename(
        factories.api_client(admin_a, org_a),
        lead_a,
        REMOTE_ADDR="192.0.2.44",
        HTTP_USER_AGENT="Quill browser 7",
        HTTP_X_REQUEST_ID="trace-0a1b2c3d4e",
    )
    client.force_login(admin_a)

    page = client.get(f"/admin/leads/lead/{lead_a.pk}/history/").content.decode()

    for shown in ("192.0.2.44", "Quill browser 7", "trace-0a1b2c3d4e", "Ada Lovelace", "Ada King"):
        assert shown in page
