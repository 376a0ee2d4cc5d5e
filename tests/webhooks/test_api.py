"""Webhook endpoints through the API: the organization's admins alone register them
(others 403, another organization's 404), the secret is write-only and stored encrypted,
bad input is a clear 400 with nothing written, and URLs that lead to loopback, private or
link-local addresses are refused."""

from __future__ import annotations

import pytest

from accounts.crypto import decrypt
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client
from tests.internal_addresses import EMBEDDED_INTERNAL, resolve
from tests.leads.factories import make_lead
from tests.webhooks.conftest import drain, make_endpoint
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhook-endpoints/"
PUBLIC_URL = "https://93.184.216.34/hooks"  # an address literal: no name to resolve
GOOD = {"url": PUBLIC_URL, "event_types": ["lead.created", "opportunity.won"]}


def _count(organization) -> int:
    with tenant_context(organization):
        return Endpoint.all_objects.count()


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(org_a, admin_a):
    client = api_client(admin_a, org_a)
    created = client.post(URL, GOOD, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["event_types"] == GOOD["event_types"]

    shown = client.get(f"{URL}{body['id']}/").json()
    assert "secret" not in shown and "secret_encrypted" not in shown
    with tenant_context(org_a):
        stored = Endpoint.objects.get(pk=body["id"]).secret_encrypted
    assert secret not in stored and decrypt(stored) == secret

    given = client.post(URL, {**GOOD, "secret": "s" * 20}, format="json")
    assert given.status_code == 201 and given.json()["secret"] == "s" * 20


def test_the_history_keeps_no_copy_of_the_secret(org_a, admin_a):
    client = api_client(admin_a, org_a)
    endpoint = client.post(URL, {**GOOD, "secret": "s" * 20}, format="json").json()
    client.patch(f"{URL}{endpoint['id']}/", {"secret": "t" * 20}, format="json")

    history = client.get(f"{URL}{endpoint['id']}/history/")

    assert history.status_code == 200
    assert len(history.json()["results"]) == 2
    assert "secret" not in history.content.decode()
    with tenant_context(org_a):
        (version, *_) = Endpoint.history.filter(id=endpoint["id"])
        assert not hasattr(version, "secret_encrypted")


def test_members_who_are_not_admins_get_403(org_a, manager_a, rep_a, readonly_a):
    for user in (manager_a, rep_a, readonly_a):
        client = api_client(user, org_a)
        assert client.get(URL).status_code == 403
        assert client.post(URL, GOOD, format="json").status_code == 403
        assert client.get("/api/v1/webhook-deliveries/").status_code == 403
    assert _count(org_a) == 0


def test_another_organizations_endpoint_is_404(org_a, admin_a, org_b, admin_b, local_addresses):
    ours = make_endpoint(org_a, "http://127.0.0.1:9/hooks")
    outsider = api_client(admin_b, org_b)
    assert outsider.get(f"{URL}{ours.pk}/").status_code == 404
    assert (
        outsider.patch(f"{URL}{ours.pk}/", {"is_active": False}, format="json").status_code == 404
    )
    assert outsider.delete(f"{URL}{ours.pk}/").status_code == 404
    assert outsider.get(URL).json()["results"] == []
    with tenant_context(org_a):
        assert Endpoint.objects.get(pk=ours.pk).is_active


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"url": "not a url"}, "url", "http:// or https://"),
        ({"url": "ftp://example.com/x"}, "url", "http:// or https://"),
        ({"url": "https://user:pw@93.184.216.34/"}, "url", "user name or password"),
        ({"url": "http://[::1/"}, "url", "Not a valid URL"),
        # A line break urlsplit would drop: it would be stored, and shown in the mail
        # that tells the admins the endpoint was disabled.
        ({"url": "http://93.184.216.34/hook\r\nX: y"}, "url", "control characters"),
        ({"url": "http://93.184.216.34/a b"}, "url", "control characters"),
        ({"event_types": ["lead.deleted"]}, "event_types", "not a valid choice"),
        ({"event_types": []}, "event_types", ""),
        ({"secret": "short"}, "secret", "16"),
    ],
)
def test_bad_input_is_a_clear_400_and_writes_nothing(org_a, admin_a, change, field, says):
    response = api_client(admin_a, org_a).post(URL, {**GOOD, **change}, format="json")
    assert response.status_code == 400, response.content
    assert says in str(response.json()["error"]["details"][field])
    assert _count(org_a) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://localhost:8000/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://172.16.5.4/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "http://[fe80::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0/hooks",
    ],
)
def test_urls_leading_inside_are_refused(org_a, admin_a, url):
    response = api_client(admin_a, org_a).post(URL, {**GOOD, "url": url}, format="json")
    assert response.status_code == 400, response.content
    assert "not a public address" in str(response.json()["error"]["details"]["url"])
    assert _count(org_a) == 0


@pytest.mark.parametrize("address", EMBEDDED_INTERNAL)
def test_ipv6_forms_carrying_an_internal_ipv4_address_are_refused(
    org_a, admin_a, monkeypatch, address
):
    """As a literal, and as what a host name resolves to (among public addresses)."""
    client = api_client(admin_a, org_a)
    resolve(monkeypatch, "hooks.example.test", "93.184.216.34", address)
    for url in (f"http://[{address}]:8101/", "https://hooks.example.test/hooks"):
        response = client.post(URL, {**GOOD, "url": url}, format="json")
        assert response.status_code == 400, (url, response.content)
        assert "not a public address" in str(response.json()["error"]["details"]["url"])
    assert _count(org_a) == 0


@pytest.mark.parametrize(
    "address", ["::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1"]
)
def test_ipv6_forms_carrying_a_public_ipv4_address_are_accepted(org_a, admin_a, address):
    response = api_client(admin_a, org_a).post(
        URL, {**GOOD, "url": f"https://[{address}]/hooks"}, format="json"
    )
    assert response.status_code == 201, response.content


def test_an_unknown_host_name_is_refused(org_a, admin_a):
    response = api_client(admin_a, org_a).post(
        URL, {**GOOD, "url": "https://no-such-host.invalid/hooks"}, format="json"
    )
    assert response.status_code == 400
    assert "does not resolve" in str(response.json()["error"]["details"]["url"])


def test_an_admin_changes_and_deletes_an_endpoint(org_a, admin_a):
    client = api_client(admin_a, org_a)
    endpoint = client.post(URL, GOOD, format="json").json()
    changed = client.patch(
        f"{URL}{endpoint['id']}/", {"event_types": ["task.overdue"]}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["event_types"] == ["task.overdue"]
    refused = client.patch(f"{URL}{endpoint['id']}/", {"url": "http://10.0.0.1/"}, format="json")
    assert refused.status_code == 400
    assert client.get(f"{URL}{endpoint['id']}/").json()["url"] == PUBLIC_URL
    assert client.delete(f"{URL}{endpoint['id']}/").status_code == 204
    assert client.get(URL).json()["results"] == []


def test_the_delivery_log_shows_each_attempt(org_a, admin_a, receiver):
    endpoint = make_endpoint(org_a, receiver.url, ["lead.created"])
    receiver.answer(502)
    make_lead(org_a, contact_name="Logged")
    drain(org_a)

    response = api_client(admin_a, org_a).get(
        "/api/v1/webhook-deliveries/", {"endpoint": str(endpoint.pk)}
    )
    assert response.status_code == 200, response.content
    [delivery] = response.json()["results"]
    assert (delivery["event_type"], delivery["status"], delivery["attempts"]) == (
        "lead.created",
        "pending",
        1,
    )
    [attempt] = delivery["attempt_log"]
    assert (attempt["status_code"], attempt["succeeded"], attempt["error"]) == (
        502,
        False,
        "HTTP 502",
    )
    assert attempt["response_ms"] >= 0


def test_enabling_a_disabled_endpoint_starts_its_count_afresh(org_a, admin_a, local_addresses):
    endpoint = make_endpoint(org_a, "http://127.0.0.1:9/hooks")
    with tenant_context(org_a):
        Endpoint.objects.filter(pk=endpoint.pk).update(is_active=False, consecutive_failures=20)
    response = api_client(admin_a, org_a).patch(
        f"{URL}{endpoint.pk}/", {"is_active": True}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["is_active"], response.json()["consecutive_failures"]) == (True, 0)


def test_deleting_an_endpoint_gives_up_what_it_had_still_to_receive(
    org_a, admin_a, local_addresses
):
    endpoint = make_endpoint(org_a, "http://127.0.0.1:9/hooks", ["lead.created"])
    make_lead(org_a, contact_name="Never sent")
    assert api_client(admin_a, org_a).delete(f"{URL}{endpoint.pk}/").status_code == 204
    with tenant_context(org_a):
        [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.last_error) == ("failed", "The endpoint was deleted.")
    assert drain(org_a) == 0
