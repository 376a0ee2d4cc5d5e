"""Webhooks in the admin: an organization admin registers an endpoint (its new secret
shown once, never on the page again), a URL leading inside is refused with nothing
written, the delivery log is listed, and a sales rep cannot open either."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.crypto import decrypt
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import make_lead
from tests.webhooks.conftest import SECRET, drain, make_endpoint
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/webhooks/endpoint/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _endpoints(organization) -> list[Endpoint]:
    with tenant_context(organization):
        return list(Endpoint.all_objects.all())


def test_an_admin_adds_an_endpoint_and_its_secret_is_shown_once(org_a, admin_a):
    client = _client(admin_a)
    response = client.post(
        f"{ENDPOINTS}add/",
        {
            "url": "https://93.184.216.34/hooks",
            "description": "Our warehouse",
            "event_types": ["lead.created", "contract.signed"],
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    [endpoint] = _endpoints(org_a)
    secret = decrypt(endpoint.secret_encrypted)
    assert secret in response.content.decode()  # the message, this once
    assert endpoint.event_types == ["lead.created", "contract.signed"]

    page = client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert secret not in page and endpoint.secret_encrypted not in page


def test_a_url_leading_inside_is_refused_and_nothing_written(org_a, admin_a):
    response = _client(admin_a).post(
        f"{ENDPOINTS}add/",
        {"url": "http://169.254.169.254/latest/", "event_types": ["lead.created"]},
        follow=True,
    )
    assert "not a public address" in response.content.decode()
    assert _endpoints(org_a) == []


def test_the_delivery_log_lists_each_delivery(org_a, admin_a, receiver):
    make_endpoint(org_a, receiver.url, ["lead.created"])
    make_lead(org_a, contact_name="Listed")
    drain(org_a)
    page = _client(admin_a).get("/admin/webhooks/delivery/").content.decode()
    assert "lead.created" in page and "delivered" in page


def test_a_sales_rep_cannot_open_webhooks(org_a, rep_a, local_addresses):
    endpoint = make_endpoint(org_a, "http://127.0.0.1:9/hooks")
    client = _client(rep_a)
    assert client.get(ENDPOINTS).status_code == 403
    assert client.get(f"{ENDPOINTS}{endpoint.pk}/change/").status_code in (403, 404)
    assert client.get("/admin/webhooks/delivery/").status_code == 403
    with tenant_context(org_a):
        assert decrypt(Endpoint.objects.get().secret_encrypted) == SECRET


def _pending_delivery(org_a):
    """An endpoint with a delivery still to make (its receiver's address takes none)."""
    endpoint = make_endpoint(org_a, "http://127.0.0.1:9/hooks", ["lead.created"])
    make_lead(org_a, contact_name="Waiting")
    with tenant_context(org_a):
        [delivery] = Delivery.objects.filter(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.PENDING
    return endpoint, delivery


def _stored(org_a, row):
    model = type(row)
    with tenant_context(org_a):
        return getattr(model, "all_objects", model.objects).get(pk=row.pk)


def test_an_endpoint_with_deliveries_is_deleted_from_its_page(org_a, admin_a, local_addresses):
    endpoint, delivery = _pending_delivery(org_a)
    client = _client(admin_a)
    page = client.get(f"{ENDPOINTS}{endpoint.pk}/delete/").content.decode()
    # A soft delete removes nothing else: no "permission to delete … delivery" refusal.
    assert "Cannot delete" not in page and "Are you sure" in page
    answer = client.post(f"{ENDPOINTS}{endpoint.pk}/delete/", {"post": "yes"}, follow=True)
    assert "was deleted successfully" in answer.content.decode()
    assert _stored(org_a, endpoint).deleted_at is not None
    # What it had still to receive is given up, and the log says why.
    stored = _stored(org_a, delivery)
    assert stored.status == DeliveryStatus.FAILED
    assert stored.last_error == "The endpoint was deleted."


def test_endpoints_deleted_from_the_list_give_up_their_deliveries(org_a, admin_a, local_addresses):
    endpoint, delivery = _pending_delivery(org_a)
    client = _client(admin_a)
    selected = {"action": "delete_selected", "_selected_action": [str(endpoint.pk)]}
    confirm = client.post(ENDPOINTS, selected).content.decode()
    assert "Cannot delete" not in confirm and "Are you sure" in confirm
    client.post(ENDPOINTS, {**selected, "post": "yes"})
    assert _stored(org_a, endpoint).deleted_at is not None
    assert _stored(org_a, delivery).status == DeliveryStatus.FAILED
