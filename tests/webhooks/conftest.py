"""Webhook fixtures: a real receiver on 127.0.0.1 (local addresses allowed, as in local
development), and endpoints of organization A registered through the service."""

from __future__ import annotations

import pytest

from smartweb.tenancy.context import tenant_context
from tests.crm.conftest import committed  # noqa: F401  (a fixture, used by name)
from tests.webhooks.receiver import serve_receiver
from webhooks import services
from webhooks.choices import EventType
from webhooks.delivery import deliver_due
from webhooks.models import Endpoint

SECRET = "whsec_test-secret-0123456789"


@pytest.fixture
def local_addresses(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1


@pytest.fixture
def receiver(local_addresses):
    with serve_receiver() as running:
        yield running


def make_endpoint(organization, url: str, event_types=None, **fields):
    with tenant_context(organization):
        endpoint, _ = services.endpoint_create(
            acting_user=None,
            url=url,
            event_types=event_types or list(EventType.values),
            secret=SECRET,
            **fields,
        )
    return endpoint


def drain(organization) -> int:
    """Each of the organization's endpoints drained in turn, as the worker's jobs would
    (one an endpoint); how many deliveries were attempted."""
    with tenant_context(organization):
        endpoints = list(Endpoint.all_objects.order_by("created_at").values_list("pk", flat=True))
    return sum(
        deliver_due(organization_id=organization.pk, endpoint_id=endpoint_id)
        for endpoint_id in endpoints
    )
