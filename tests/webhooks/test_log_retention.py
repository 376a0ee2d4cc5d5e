"""The outbox and the delivery log are kept WEBHOOK_LOG_DAYS once an event is finished,
then deleted with its deliveries and attempts; nothing pending is ever deleted, and each
organization's purge touches its own rows only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from smartweb.tenancy.context import tenant_context
from tests.leads.factories import make_lead
from tests.webhooks.conftest import drain, make_endpoint
from webhooks import log_retention
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, DeliveryAttempt, OutboxEvent

pytestmark = pytest.mark.django_db


def age_events(organization, days: int) -> None:
    with tenant_context(organization):
        OutboxEvent.objects.update(created_at=timezone.now() - dt.timedelta(days=days))


def counts(organization) -> tuple[int, int, int]:
    with tenant_context(organization):
        return (
            OutboxEvent.objects.count(),
            Delivery.objects.count(),
            DeliveryAttempt.objects.count(),
        )


def test_finished_events_past_the_log_lifetime_go_with_their_log(org_a, receiver, settings):
    settings.WEBHOOK_LOG_DAYS = 30
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a)
    drain(org_a)
    assert counts(org_a) == (1, 1, 1)

    age_events(org_a, 29)
    with tenant_context(org_a):
        assert log_retention.purge_log() == 0  # still inside the log's lifetime
    age_events(org_a, 31)
    with tenant_context(org_a):
        assert log_retention.purge_log() == 1
    assert counts(org_a) == (0, 0, 0)


def test_an_event_with_a_pending_delivery_is_kept_however_old(org_a, receiver, settings):
    settings.WEBHOOK_LOG_DAYS = 30
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a)
    age_events(org_a, 400)
    with tenant_context(org_a):
        assert Delivery.objects.get().status == DeliveryStatus.PENDING
        assert log_retention.purge_log() == 0
    assert counts(org_a) == (1, 1, 0)


def test_one_organizations_purge_leaves_anothers_log(org_a, org_b, receiver, settings):
    settings.WEBHOOK_LOG_DAYS = 30
    for organization in (org_a, org_b):
        make_endpoint(organization, receiver.url, [EventType.LEAD_CREATED])
        make_lead(organization)
        drain(organization)
        age_events(organization, 31)

    with tenant_context(org_a):
        assert log_retention.purge_log() == 1
    assert counts(org_a) == (0, 0, 0)
    assert counts(org_b) == (1, 1, 1)
