"""Outbound webhooks against a real receiver on 127.0.0.1: delivered if and only if the
transaction committed, signed, retried with backoff, never to another organization's
endpoint, never twice, bounded in time, and an endpoint that keeps failing disabled."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.exceptions import ConnectorException

from crm import services as crm_services
from notifications.choices import NotificationKind
from notifications.models import Notification
from smartweb import signing
from smartweb.tenancy.context import tenant_context
from tests import factories as people
from tests.crm import factories
from tests.internal_addresses import EMBEDDED_INTERNAL, resolve
from tests.job_queue import run_worker
from tests.leads.factories import make_lead
from tests.webhooks.conftest import SECRET, drain, make_endpoint
from webhooks import backlog, jobs, services
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, OutboxEvent


def make_due(organization) -> None:
    """Retries wait for their time; bring them forward to now."""
    with tenant_context(organization):
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(
            next_attempt_at=timezone.now()
        )


def deliveries(organization) -> list[Delivery]:
    with tenant_context(organization):
        return list(Delivery.objects.select_related("event").order_by("created_at"))


def attempts(organization) -> list[tuple[int, int | None, bool]]:
    with tenant_context(organization):
        return list(
            DeliveryAttempt.objects.order_by("delivery__created_at", "number").values_list(
                "number", "status_code", "succeeded"
            )
        )


class Boom(Exception):
    pass


@pytest.mark.usefixtures("committed")
def test_an_event_of_a_rolled_back_transaction_is_never_sent(receiver):
    organization = people.make_organization("Live Web Sales")
    make_endpoint(organization, receiver.url, [EventType.LEAD_CREATED])

    with pytest.raises(Boom), tenant_context(organization):
        make_lead(organization, contact_name="Rolled Back")
        raise Boom
    kept = make_lead(organization, contact_name="Committed")

    # The commit queued one drain (the rolled-back transaction queued nothing); the
    # worker runs it and the receiver gets the committed lead alone.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name FROM procrastinate_jobs WHERE status = 'todo' AND queue_name = %s",
            [jobs.QUEUE],
        )
        assert cursor.fetchall() == [("webhooks.deliver",)]
    run_worker("webhooks")
    assert [e["data"]["lead"]["id"] for e in receiver.events()] == [str(kept.pk)]
    with tenant_context(organization):
        assert OutboxEvent.objects.count() == 1


@pytest.mark.usefixtures("committed")
def test_a_transaction_of_many_events_queues_one_drain(receiver):
    organization = people.make_organization("Live Web Sales")
    make_endpoint(organization, receiver.url, [EventType.LEAD_CREATED])
    with tenant_context(organization):
        for n in range(3):
            make_lead(organization, contact_name=f"Imported {n}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s", [jobs.QUEUE]
        )
        assert cursor.fetchone() == (1,)
    run_worker("webhooks")
    assert len(receiver.requests) == 3


@pytest.mark.usefixtures("committed")
def test_the_sweep_sends_a_retry_when_it_comes_due(receiver):
    organization = people.make_organization("Live Web Sales")
    make_endpoint(organization, receiver.url, [EventType.LEAD_CREATED])
    receiver.answer(500)
    make_lead(organization, contact_name="Retried")
    run_worker("webhooks")  # the nudge's drain: the first attempt fails, the retry waits a minute
    assert [d.status for d in deliveries(organization)] == [DeliveryStatus.PENDING]

    make_due(organization)
    jobs.sweep.defer(timestamp=0)  # as the periodic schedule does every minute
    run_worker("webhooks")
    assert [d.status for d in deliveries(organization)] == [DeliveryStatus.DELIVERED]
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_an_event_rolled_back_inside_a_larger_transaction_writes_nothing(org_a, receiver):
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    with pytest.raises(Boom), tenant_context(org_a), transaction.atomic():
        make_lead(org_a, contact_name="Rolled Back")
        raise Boom
    assert drain(org_a) == 0
    assert receiver.requests == []
    with tenant_context(org_a):
        assert (OutboxEvent.objects.count(), Delivery.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try(org_a, receiver):
    endpoint = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    receiver.answer(500, times=2)
    lead = make_lead(org_a, contact_name="Third Time")

    for _ in range(3):
        assert drain(org_a) == 1
        make_due(org_a)

    assert [r["headers"]["X-Webhook-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert len({r["headers"]["X-Webhook-Id"] for r in receiver.requests}) == 1
    assert receiver.events()[-1]["data"]["lead"]["id"] == str(lead.pk)
    [delivery] = deliveries(org_a)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        3,
        200,
    )
    assert attempts(org_a) == [(1, 500, False), (2, 500, False), (3, 200, True)]
    with tenant_context(org_a):
        assert Endpoint.objects.get(pk=endpoint.pk).consecutive_failures == 0
    assert drain(org_a) == 0  # nothing left


@pytest.mark.django_db
def test_the_signature_verifies_with_the_endpoints_secret(org_a, receiver):
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Signed")
    drain(org_a)

    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    stamp = headers["X-Timestamp"]
    # As a receiver would check it, with the standard library alone.
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Signature"] == f"sha256={expected.hexdigest()}"
    assert signing.verify(
        secret=SECRET, timestamp=stamp, given=headers["X-Signature"], body=body, now=timezone.now()
    )
    assert not signing.verify(
        secret="another-secret-0123456789",
        timestamp=stamp,
        given=headers["X-Signature"],
        body=body,
        now=timezone.now(),
    )
    event = json.loads(body)
    assert (headers["X-Webhook-Event"], event["type"]) == ("lead.created", "lead.created")
    assert event["organization_id"] == str(org_a.pk)


@pytest.mark.django_db
def test_another_organizations_events_never_reach_this_endpoint(org_a, org_b, receiver):
    make_endpoint(org_a, receiver.url + "/a", [EventType.LEAD_CREATED])
    make_endpoint(org_b, receiver.url + "/b", [EventType.LEAD_CREATED])
    make_lead(org_b, contact_name="Bravo's")
    make_lead(org_b, contact_name="Bravo's too")
    ours = make_lead(org_a, contact_name="Acme's")

    assert drain(org_a) == 1  # A's drain sends A's event only
    assert drain(org_b) == 2
    by_path: dict[str, set] = {}
    for request in receiver.requests:
        event = json.loads(request["body"])
        by_path.setdefault(request["path"], set()).add(event["organization_id"])
    assert by_path == {"/hooks/a": {str(org_a.pk)}, "/hooks/b": {str(org_b.pk)}}
    a_events = [json.loads(r["body"]) for r in receiver.requests if r["path"] == "/hooks/a"]
    assert [e["data"]["lead"]["id"] for e in a_events] == [str(ours.pk)]


@pytest.mark.django_db
def test_running_the_drain_again_sends_nothing_twice(org_a, receiver):
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    for n in range(3):
        make_lead(org_a, contact_name=f"Once {n}")
    assert drain(org_a) == 3
    assert drain(org_a) == 0
    assert len(receiver.requests) == 3
    assert len({r["headers"]["X-Webhook-Id"] for r in receiver.requests}) == 3


@pytest.mark.usefixtures("committed")
def test_two_drains_at_once_send_each_event_once_in_order_one_at_a_time(receiver):
    """The second drain finds the endpoint busy and leaves its events to the first."""
    organization = people.make_organization("Live Web Sales")
    make_endpoint(organization, receiver.url, [EventType.LEAD_CREATED])
    leads = [make_lead(organization, contact_name=f"Concurrent {n}") for n in range(6)]
    receiver.answer(200, delay=0.2, times=6)  # long enough for both drains to overlap

    def drain_in_thread():
        try:
            drain(organization)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain_in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    ids = [r["headers"]["X-Webhook-Id"] for r in receiver.requests]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert [e["data"]["lead"]["id"] for e in receiver.events()] == [str(x.pk) for x in leads]
    assert receiver.most_at_once == 1
    assert {d.status for d in deliveries(organization)} == {DeliveryStatus.DELIVERED}


@pytest.mark.django_db
def test_retries_back_off_doubling_and_give_up_after_a_day(org_a, receiver, settings):
    settings.WEBHOOK_RETRY_MAX_SECONDS = 240
    receiver.answer(503, times=10)
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Backoff")

    waits = []
    for _ in range(4):
        before = timezone.now()
        drain(org_a)
        [delivery] = deliveries(org_a)
        waits.append(round((delivery.next_attempt_at - before).total_seconds() / 10) * 10)
        make_due(org_a)
    assert waits == [60, 120, 240, 240]  # 1 minute, doubling, capped

    # A day after the event, a failure is the last attempt.
    with tenant_context(org_a):
        OutboxEvent.objects.update(created_at=timezone.now() - dt.timedelta(hours=24))
    drain(org_a)
    [delivery] = deliveries(org_a)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        DeliveryStatus.FAILED,
        5,
        None,
    )
    assert drain(org_a) == 0


@pytest.mark.django_db
def test_a_receiver_that_never_answers_times_out_and_is_retried(org_a, receiver):
    receiver.answer(200, delay=3)  # the timeout is 1 second here
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Silent")

    drain(org_a)
    [delivery] = deliveries(org_a)
    assert delivery.status == DeliveryStatus.PENDING
    assert "Timeout" in delivery.last_error and delivery.last_status_code is None
    assert 900 <= delivery.last_response_ms < 2500
    make_due(org_a)
    drain(org_a)
    assert deliveries(org_a)[0].status == DeliveryStatus.DELIVERED


@pytest.mark.django_db
def test_a_receiver_trickling_its_answer_fails_at_the_deadline_and_is_retried(org_a, receiver):
    """A byte every 0.3 s keeps each read under the 1-second timeout, and the whole answer
    would take over ten seconds: the attempt ends at the deadline, a failure."""
    receiver.trickle(200, interval=0.3)
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Trickled")

    started = time.monotonic()
    assert drain(org_a) == 1
    assert time.monotonic() - started < 3
    [delivery] = deliveries(org_a)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1 and delivery.last_status_code is None
    assert delivery.last_error.startswith("TotalTimeout: No complete answer within 1 s")
    assert 900 <= delivery.last_response_ms < 2500
    assert delivery.next_attempt_at > timezone.now() + dt.timedelta(seconds=50)
    assert attempts(org_a) == [(1, None, False)]
    with tenant_context(org_a):
        assert Endpoint.objects.get().consecutive_failures == 1

    make_due(org_a)
    drain(org_a)
    assert deliveries(org_a)[0].status == DeliveryStatus.DELIVERED
    assert attempts(org_a) == [(1, None, False), (2, 200, True)]


@pytest.mark.django_db
def test_an_endpoint_failing_again_and_again_is_disabled_and_its_admins_told(
    org_a, admin_a, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 0
    receiver.answer(500, times=10)
    endpoint = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    for n in range(4):
        make_lead(org_a, contact_name=f"Failing {n}")

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):  # the oldest event, retried; the others wait behind it
            assert drain(org_a) == 1
            make_due(org_a)
        assert drain(org_a) == 0  # the endpoint is off
    with tenant_context(org_a):
        endpoint = Endpoint.objects.get(pk=endpoint.pk)
        pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).count()
    assert (endpoint.is_active, endpoint.consecutive_failures) == (False, 3)
    assert endpoint.disabled_at is not None
    assert pending == 4  # kept, for when it is enabled again
    assert len(receiver.requests) == 3
    assert len({r["headers"]["X-Webhook-Id"] for r in receiver.requests}) == 1
    [message] = mail.outbox
    assert message.to == [admin_a.email]
    assert f"{endpoint.url} failed 3 times in a row and was disabled" in message.body
    with tenant_context(org_a):  # and in the app
        [notification] = Notification.objects.filter(kind=NotificationKind.WEBHOOK_DISABLED)
    assert notification.recipient == admin_a and endpoint.url in notification.message


@pytest.mark.django_db
def test_a_receiver_answering_gone_disables_its_endpoint_at_once(
    org_a, admin_a, receiver, settings, django_capture_on_commit_callbacks
):
    """410 Gone: the receiver says it takes no more events, so the endpoint is not retried
    for a day first; what waits is kept for when it is enabled again. Both admin roles
    are told."""
    super_admin = people.make_member(org_a, "super_admin")
    receiver.answer(410, times=1)
    endpoint = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    for n in range(3):
        make_lead(org_a, contact_name=f"Gone {n}")

    with django_capture_on_commit_callbacks(execute=True):
        assert drain(org_a) == 1
    with tenant_context(org_a):
        endpoint = Endpoint.objects.get(pk=endpoint.pk)
        pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).count()
        told = Notification.objects.filter(kind=NotificationKind.WEBHOOK_DISABLED)
        told = {notification.recipient: notification.message for notification in told}
    assert (endpoint.is_active, endpoint.consecutive_failures) == (False, 1)
    assert pending == 3 and len(receiver.requests) == 1
    [message] = mail.outbox
    assert f"{endpoint.url} answered 410 Gone" in message.body
    assert message.to == sorted([admin_a.email, super_admin.email])
    assert set(told) == {admin_a, super_admin}
    assert all("410 Gone" in text for text in told.values())


@pytest.mark.django_db
def test_a_short_outage_does_not_disable_an_endpoint_a_day_of_failures_does(
    org_a, receiver, settings
):
    """Failures in quick succession are not a day of failures: each delivery is promised
    its retries. The count goes on, and disables once the failing has lasted."""
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver.answer(500, times=5)  # then 200
    endpoint = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    for n in range(4):
        make_lead(org_a, contact_name=f"Outage {n}")

    for _ in range(4):
        assert drain(org_a) == 1
        make_due(org_a)
    with tenant_context(org_a):
        endpoint = Endpoint.objects.get(pk=endpoint.pk)
        assert (endpoint.is_active, endpoint.consecutive_failures) == (True, 4)
        since = endpoint.failing_since
        Endpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=since - dt.timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
        )
    make_due(org_a)
    assert drain(org_a) == 1  # then the endpoint is off
    with tenant_context(org_a):
        endpoint = Endpoint.objects.get(pk=endpoint.pk)
    assert (endpoint.is_active, endpoint.consecutive_failures) == (False, 5)

    with tenant_context(org_a):  # enabled again: a success starts afresh
        services.endpoint_update(endpoint=endpoint, acting_user=None, is_active=True)
    make_due(org_a)
    drain(org_a)
    with tenant_context(org_a):
        endpoint = Endpoint.objects.get(pk=endpoint.pk)
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_enabled_again_gets_what_waited_at_once_oldest_first(org_a, receiver):
    """Each waiting delivery had its own next try (an older event, further into its
    backoff, a later one); enabled again, the receiver gets them all at once, in the order
    the events happened: enabling queues the drain."""
    endpoint = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    leads = [make_lead(org_a, contact_name=f"Waited {n}") for n in range(4)]
    with tenant_context(org_a):
        services.endpoint_update(endpoint=endpoint, acting_user=None, is_active=False)
    run_worker("webhooks")  # the drain the events queued finds the endpoint off
    now = timezone.now()
    with tenant_context(org_a):
        waiting = Delivery.objects.order_by("created_at")
        for delivery, minutes in zip(waiting, (30, 5, -10, -40), strict=True):
            Delivery.objects.filter(pk=delivery.pk).update(
                attempts=4, next_attempt_at=now + dt.timedelta(minutes=minutes)
            )
        endpoint = Endpoint.objects.get(pk=endpoint.pk)
        services.endpoint_update(endpoint=endpoint, acting_user=None, is_active=True)
    assert receiver.requests == []

    run_worker("webhooks")
    received = [event["data"]["lead"]["id"] for event in receiver.events()]
    assert received == [str(lead.pk) for lead in leads]
    assert {d.status for d in deliveries(org_a)} == {DeliveryStatus.DELIVERED}


@pytest.mark.django_db
def test_an_endpoint_enabled_again_gets_only_what_is_within_its_day_of_retries(
    org_a, receiver, settings
):
    endpoint = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Too old")
    fresh = make_lead(org_a, contact_name="Within the day")
    with tenant_context(org_a):
        services.endpoint_update(endpoint=endpoint, acting_user=None, is_active=False)
        old, _ = Delivery.objects.order_by("created_at")
        OutboxEvent.objects.filter(pk=old.event_id).update(
            created_at=timezone.now() - dt.timedelta(hours=settings.WEBHOOK_RETRY_HOURS, minutes=1)
        )
        endpoint = Endpoint.objects.get(pk=endpoint.pk)
        services.endpoint_update(endpoint=endpoint, acting_user=None, is_active=True)

    assert drain(org_a) == 1
    assert [event["data"]["lead"]["id"] for event in receiver.events()] == [str(fresh.pk)]
    old, _ = deliveries(org_a)
    assert (old.status, old.attempts) == (DeliveryStatus.FAILED, 0)
    assert old.last_error == services.RETRIES_RAN_OUT


@pytest.mark.django_db
def test_a_host_that_turned_private_is_refused_at_delivery(org_a, receiver, settings):
    make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Rebound")
    # As in production: the name now leads to a loopback address (DNS rebinding).
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    drain(org_a)
    assert receiver.requests == []
    [delivery] = deliveries(org_a)
    assert delivery.status == DeliveryStatus.PENDING
    assert "not a public address" in delivery.last_error


@pytest.mark.django_db
@pytest.mark.parametrize("address", EMBEDDED_INTERNAL)
def test_an_ipv6_form_carrying_an_internal_address_is_refused_at_delivery(
    org_a, receiver, settings, monkeypatch, address
):
    """Registered while allowed (or before the name moved), refused when sent: the URL's
    own address, and the address its name resolves to as the connection is made."""
    port = urlsplit(receiver.url).port
    make_endpoint(org_a, f"http://[{address}]:{port}/hooks", [EventType.LEAD_CREATED])
    make_endpoint(org_a, f"http://rebound.example.test:{port}/hooks", [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Rebound")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    resolve(monkeypatch, "rebound.example.test", address)
    assert drain(org_a) == 2
    assert receiver.requests == []
    for delivery in deliveries(org_a):
        assert delivery.status == DeliveryStatus.PENDING
        assert "which is not a public address" in delivery.last_error


@pytest.mark.django_db
def test_an_overdue_task_is_reported_once(org_a, receiver):
    make_endpoint(org_a, receiver.url, [EventType.TASK_OVERDUE])
    late = factories.task(org_a, due_at=timezone.now() - dt.timedelta(minutes=5))
    factories.task(org_a, due_at=timezone.now() + dt.timedelta(hours=1))

    with tenant_context(org_a):
        assert crm_services.tasks_report_overdue() == 1
        assert crm_services.tasks_report_overdue() == 0  # once per task and due time
    drain(org_a)
    [event] = receiver.events()
    assert (event["type"], event["data"]["task"]["id"]) == ("task.overdue", str(late.pk))


@pytest.mark.django_db
def test_an_endpoint_deleted_during_an_attempt_counts_no_failure(org_a, receiver, monkeypatch):
    """The attempt is recorded and the drain goes on; the deleted endpoint is neither
    counted nor disabled (before, the attempt's transaction failed on the vanished row)."""
    from webhooks import delivery as delivery_module
    from webhooks import services

    receiver.answer(500, times=10)
    endpoint = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])
    make_lead(org_a, contact_name="Gone meanwhile")
    post = delivery_module._post

    def post_then_delete(delivery, number, session):
        answer = post(delivery, number, session)
        with tenant_context(org_a):
            services.endpoint_delete(
                endpoint=Endpoint.objects.get(pk=endpoint.pk), acting_user=None
            )
        return answer

    monkeypatch.setattr(delivery_module, "_post", post_then_delete)
    assert drain(org_a) == 1
    with tenant_context(org_a):
        gone = Endpoint.all_objects.get(pk=endpoint.pk)
    assert gone.deleted_at is not None
    assert (gone.consecutive_failures, gone.is_active) == (0, True)
    assert attempts(org_a) == [(1, 500, False)]


@pytest.mark.django_db(transaction=True)
def test_a_drain_that_cannot_be_queued_after_the_commit_leaves_the_write_done(
    org_a, receiver, monkeypatch
):
    """The database lost between a commit and the queueing of its drain: the write that
    committed is not failed for it (it was answered 500), and the minute's sweep finds
    the endpoint due."""
    endpoint = make_endpoint(org_a, receiver.url, [EventType.LEAD_CREATED])

    def lost(**kwargs):
        raise ConnectorException("terminating connection due to administrator command")

    monkeypatch.setattr(jobs, "defer_delivery", lost)
    lead = make_lead(org_a, contact_name="Committed")
    with tenant_context(org_a):
        assert list(backlog.endpoints_due().values_list("pk", flat=True)) == [endpoint.pk]
    monkeypatch.undo()
    assert drain(org_a) == 1
    assert [event["data"]["lead"]["id"] for event in receiver.events()] == [str(lead.pk)]
