"""Each endpoint's deliveries on their own: a slow receiver holds up its own events and no
other endpoint's, and a receiver gets its events in the order they happened, one at a
time, even when it comes back after failures."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from smartweb import jobs as platform_jobs
from smartweb.tenancy.context import tenant_context
from tests import factories as people
from tests.job_queue import run_worker
from tests.leads.factories import make_lead
from tests.webhooks.conftest import drain, make_endpoint
from tests.webhooks.receiver import serve_receiver
from webhooks import backlog, jobs
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, Endpoint, OutboxEvent

SLOW_SECONDS = 2.5  # the slow receiver's answer, each time: near the deadline of 3 s


def lead_ids(receiver) -> list[str]:
    return [event["data"]["lead"]["id"] for event in receiver.events()]


def later(organization, minutes: int) -> None:
    """`minutes` pass for the retries waiting: those falling due in them are due."""
    with tenant_context(organization):
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(
            next_attempt_at=F("next_attempt_at") - dt.timedelta(minutes=minutes)
        )


def make_failing(organization) -> None:
    """The organization's receivers have been failing (their attempts counted)."""
    with tenant_context(organization):
        Endpoint.objects.update(consecutive_failures=3, failing_since=timezone.now())


def sweep_and_deliver() -> None:
    """The minute's sweep, and the drains it queues."""
    jobs.sweep.defer(timestamp=0)
    run_worker("webhooks")


def queued_drains() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT args->>'endpoint_id' FROM procrastinate_jobs"
            " WHERE status = 'todo' AND task_name = 'webhooks.deliver'"
        )
        return sorted(row[0] for row in cursor.fetchall())


@pytest.mark.usefixtures("committed", "local_addresses")
def test_a_slow_receiver_does_not_hold_up_another_endpoints_events(settings, capsys):
    settings.WEBHOOK_TIMEOUT_SECONDS = 3
    organization = people.make_organization("Live Web Sales")
    with serve_receiver() as slow, serve_receiver() as fast:
        slow.answer(200, delay=SLOW_SECONDS, times=3)
        endpoints = [
            make_endpoint(organization, receiver.url, [EventType.LEAD_CREATED])
            for receiver in (slow, fast)
        ]
        leads = [make_lead(organization, contact_name=f"Both {n}") for n in range(3)]
        # One waiting drain per endpoint, however many events committed.
        assert queued_drains() == sorted(str(endpoint.pk) for endpoint in endpoints)

        started = time.monotonic()
        run_worker("webhooks", concurrency=settings.JOBS_CONCURRENCY)

    expected = [str(lead.pk) for lead in leads]
    assert lead_ids(fast) == lead_ids(slow) == expected
    fast_done = fast.requests[-1]["answered_at"] - started
    slow_first = slow.requests[0]["answered_at"] - started
    slow_done = slow.requests[-1]["answered_at"] - started
    with capsys.disabled():
        print(
            f"\nfast endpoint: 3 events in {fast_done:.2f} s; slow: first {slow_first:.2f} s,"
            f" all 3 in {slow_done:.2f} s"
        )
    # The fast receiver had all its events before the slow one had answered its first:
    # sent one endpoint after the other, two of them would have waited behind it.
    assert fast_done < slow_first, (fast_done, slow_first)
    # The slow receiver got its events one at a time, each answered before the next.
    assert slow.most_at_once == 1
    assert slow_done >= 3 * SLOW_SECONDS


@pytest.mark.usefixtures("committed")
def test_a_drain_of_a_dead_worker_gives_way_to_the_endpoints_waiting_one(receiver):
    """A worker died mid-drain, and the endpoint's next drain was queued behind it: the
    stalled one cannot be put back beside the waiting one, which cannot start while the
    stalled one holds their lock. The stalled one is ended; the waiting one delivers."""
    organization = people.make_organization("Live Web Sales")
    make_endpoint(organization, receiver.url, [EventType.LEAD_CREATED])
    first = make_lead(organization, contact_name="In flight when the worker died")
    with connection.cursor() as cursor:  # its worker gone: no heartbeat, no worker row
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL"
            " WHERE task_name = 'webhooks.deliver'"
        )
    second = make_lead(organization, contact_name="Queued behind it")
    assert len(queued_drains()) == 1

    platform_jobs.retry_stalled_jobs.defer(timestamp=0)
    run_worker("default", "webhooks")

    assert lead_ids(receiver) == [str(first.pk), str(second.pk)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = 'webhooks.deliver' ORDER BY id"
        )
        assert [status for (status,) in cursor.fetchall()] == ["failed", "succeeded"]


@pytest.mark.usefixtures("committed")
def test_a_receiver_back_after_failures_gets_its_backlog_in_event_order(receiver):
    """While the oldest event waits for its retry, newer ones wait behind it instead of
    being tried (and, the receiver back, delivered) each on its own backoff; its retry
    delivered, the rest follow at once, oldest first."""
    organization = people.make_organization("Live Web Sales")
    make_endpoint(organization, receiver.url, [EventType.LEAD_CREATED])
    receiver.answer(503, times=3)  # down for three attempts, then back
    leads = [make_lead(organization, contact_name="First")]
    run_worker("webhooks")  # its drain: the first attempt fails, the retry is in a minute
    for minutes in (1, 2, 4):  # more events; the retries, doubling, fall due
        leads.append(make_lead(organization, contact_name=f"After {minutes} min"))
        run_worker("webhooks")  # the new event's drain finds the older one waiting
        later(organization, minutes)
        sweep_and_deliver()

    expected = [str(lead.pk) for lead in leads]
    ids = lead_ids(receiver)
    assert ids == [expected[0]] * 4 + expected[1:]  # no newer one tried before it
    assert [r["headers"]["X-Webhook-Attempt"] for r in receiver.requests] == [
        "1",
        "2",
        "3",
        "4",
        "1",
        "1",
        "1",
    ]
    with tenant_context(organization):
        assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.django_db
def test_retries_waiting_when_the_receiver_recovers_go_next_in_event_order(org_a, receiver):
    """Events that were tried, each with its own next retry (an older one further into
    its backoff, or an event that committed after a newer one was tried): the first
    success sends them all at once, oldest first, not each at its own time."""
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    leads = [make_lead(org_a, contact_name=f"Waited {n}") for n in range(4)]
    now = timezone.now()
    with tenant_context(org_a):
        waiting = list(Delivery.objects.order_by("created_at"))
        for delivery, minutes in zip(waiting, (-1, 50, 20, 5), strict=True):
            Delivery.objects.filter(pk=delivery.pk).update(
                attempts=3, next_attempt_at=now + dt.timedelta(minutes=minutes)
            )
    make_failing(org_a)

    assert drain(org_a) == 4
    assert lead_ids(receiver) == [str(lead.pk) for lead in leads]
    assert [r["headers"]["X-Webhook-Attempt"] for r in receiver.requests] == ["4"] * 4


@pytest.mark.django_db
def test_an_event_that_failed_for_good_no_longer_holds_back_newer_ones(org_a, receiver):
    receiver.answer(500)
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Too late")
    newer = make_lead(org_a, contact_name="In time")
    with tenant_context(org_a):
        oldest = Delivery.objects.order_by("created_at").first()
        OutboxEvent.objects.filter(pk=oldest.event_id).update(
            created_at=timezone.now() - dt.timedelta(hours=24)
        )

    assert drain(org_a) == 2  # its last attempt fails, and the next goes at once
    with tenant_context(org_a):
        statuses = list(Delivery.objects.order_by("created_at").values_list("status", flat=True))
    assert statuses == [DeliveryStatus.FAILED, DeliveryStatus.DELIVERED]
    assert lead_ids(receiver)[-1] == str(newer.pk)


@pytest.mark.django_db
def test_a_disabled_or_other_organizations_endpoint_is_not_due(org_a, org_b, receiver):
    ours = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_endpoint(org_b, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Ours")
    make_lead(org_b, contact_name="Theirs")
    with tenant_context(org_a):
        assert list(backlog.endpoints_due()) == [ours]
        ours.is_active = False
        ours.save(update_fields=["is_active"])
        assert list(backlog.endpoints_due()) == []


@pytest.mark.django_db
def test_the_drain_and_the_sweep_read_the_endpoints_backlog_index(org_a, receiver):
    endpoint = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Indexed")
    with tenant_context(org_a):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        for queryset in (
            backlog.waiting(endpoint.pk).order_by("created_at")[:1],
            backlog.endpoints_due(),
        ):
            sql, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "delivery_endpoint_backlog" in plan, plan
