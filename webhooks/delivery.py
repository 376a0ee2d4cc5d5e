"""The drain of one endpoint: POST its pending deliveries oldest event first, record each
attempt, schedule the retry or give up, and disable an endpoint that keeps failing.

An endpoint's deliveries go one at a time and in the order of their events
(`webhooks.backlog`): the drain stops at the oldest one while it waits for its retry. Each
attempt is a transaction of its own, which holds the endpoint's advisory lock and the
delivery's row lock across the POST: two drains of one endpoint never send at once (the
second finds it busy and leaves it to the first), and a drain that dies mid-way leaves its
delivery due again. Drains of different endpoints share nothing: a slow receiver holds up
its own events only. The POST is bounded by WEBHOOK_TIMEOUT_SECONDS in total, however
slowly the receiver answers (smartweb.outbound), so the locks are held for that long at
most.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from http import HTTPStatus

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.crypto import decrypt
from notifications import events as notification_events
from smartweb import outbound, signing
from smartweb.locks import try_advisory_xact_lock
from smartweb.tenancy.context import tenant_context
from smartweb.writes import locked
from webhooks import backlog, notify
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, DeliveryAttempt, Endpoint

USER_AGENT = "SmartWeb-CRM-Webhooks/1"
ERROR_LENGTH = 500
# Held by the transaction sending to an endpoint, with the endpoint's id.
ENDPOINT_LOCK = "webhooks.endpoint"


def deliver_due(*, organization_id, endpoint_id, limit: int = 100) -> int:
    """Send up to `limit` of the endpoint's due deliveries, oldest event first; how many
    were attempted."""
    attempted = 0
    # Each connection is made to addresses checked as it is made: the name may resolve
    # elsewhere by now than when the endpoint was registered (DNS rebinding).
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES
    with outbound.session(allow_private=allow_private) as session:
        while attempted < limit:
            if not _attempt_next(organization_id, endpoint_id, session):
                break
            attempted += 1
    return attempted


def _attempt_next(organization_id, endpoint_id, session: requests.Session) -> bool:
    """Attempt the endpoint's oldest pending delivery if it is due, in a transaction of its
    own; False when it is not, or when another drain is sending to the endpoint."""
    with tenant_context(organization_id):
        # The record of an attempt may be lost with the last moments before a crash: the
        # delivery is then sent again, which at-least-once delivery allows (receivers
        # drop repeats by X-Webhook-Id). Not waiting for the disk at each commit: 22–25 →
        # 28 deliveries/s with one drain, 24–39 → 48 with two (bench/README.md).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
        if not try_advisory_xact_lock(ENDPOINT_LOCK, endpoint_id):
            return False
        delivery = (
            backlog.waiting(endpoint_id)
            .filter(endpoint__is_active=True, endpoint__deleted_at__isnull=True)
            .select_for_update(of=("self",))
            .select_related("event", "endpoint")
            .order_by("created_at")
            .first()
        )
        if delivery is None or delivery.next_attempt_at > timezone.now():
            return False
        _attempt(delivery, session)
    return True


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: 1 minute, doubling, capped."""
    first = settings.WEBHOOK_RETRY_FIRST_SECONDS
    return dt.timedelta(
        seconds=min(first * 2 ** (attempts - 1), settings.WEBHOOK_RETRY_MAX_SECONDS)
    )


def envelope(delivery: Delivery) -> bytes:
    event = delivery.event
    return json.dumps(
        {
            "id": str(event.pk),
            "type": event.event_type,
            "created_at": event.created_at.isoformat(),
            "organization_id": str(event.organization_id),
            "data": event.payload,
        },
        separators=(",", ":"),
    ).encode()


def _post(delivery: Delivery, number: int, session: requests.Session) -> tuple[int | None, str]:
    """POST the delivery once: (status code or None, error or '')."""
    endpoint = delivery.endpoint
    body = envelope(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Event": delivery.event.event_type,
        "X-Webhook-Id": str(delivery.event_id),
        "X-Webhook-Attempt": str(number),
        **signing.signed_headers(decrypt(endpoint.secret_encrypted), body),
    }
    try:
        # Redirects are not followed (one could lead inside); the body is not read.
        with session.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            code = response.status_code
    except outbound.RefusedURL as exc:
        return None, str(exc)[:ERROR_LENGTH]
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]
    return code, "" if 200 <= code < 300 else f"HTTP {code}"


def _attempt(delivery: Delivery, session: requests.Session) -> None:
    number = delivery.attempts + 1
    started = time.monotonic()
    code, error = _post(delivery, number, session)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    succeeded = not error
    recovered = False
    now = timezone.now()
    DeliveryAttempt.objects.create(
        organization_id=delivery.organization_id,
        delivery=delivery,
        number=number,
        status_code=code,
        response_ms=elapsed_ms,
        error=error,
        succeeded=succeeded,
    )
    delivery.attempts = number
    delivery.last_status_code = code
    delivery.last_response_ms = elapsed_ms
    delivery.last_error = error
    if succeeded:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        recovered = Endpoint.objects.filter(
            pk=delivery.endpoint_id, consecutive_failures__gt=0
        ).update(consecutive_failures=0, failing_since=None)
    else:
        retry_at = now + backoff(number)
        give_up_at = delivery.event.created_at + dt.timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
        if retry_at > give_up_at:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = retry_at
        _count_failure(delivery.endpoint_id, gone=code == HTTPStatus.GONE)
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_status_code",
            "last_response_ms",
            "last_error",
        ]
    )
    if recovered:
        # The receiver is back after failures: the events that waited for their retries
        # go next, in the order they happened.
        backlog.send_waiting_now(delivery.endpoint_id)


def _count_failure(endpoint_id, *, gone: bool = False) -> None:
    """One more failure in a row; at the limit, once the endpoint has failed for the
    hours its deliveries are retried, it is disabled (its pending deliveries wait for it
    to be enabled again) and its organization's admins told. Not sooner: the count says
    how often, not how long, and each delivery is promised its day of retries. A
    receiver that answers 410 Gone says it no longer exists: `gone` disables the
    endpoint at once. An endpoint deleted during the attempt counts nothing: the attempt
    is recorded, the job does not fail for it. (Counted, the row stays locked until the
    attempt commits: it cannot be deleted meanwhile.)"""
    now = timezone.now()
    counted = Endpoint.objects.filter(pk=endpoint_id).update(
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce(F("failing_since"), Value(now)),
    )
    if not counted:
        return
    endpoint = locked(Endpoint.objects.get(pk=endpoint_id))
    if not endpoint.is_active:
        return
    if gone:
        _disable(endpoint, GONE)
    elif endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES and (
        now - endpoint.failing_since >= dt.timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    ):
        _disable(endpoint, f"failed {endpoint.consecutive_failures} times in a row")


# Why an endpoint whose receiver answered 410 Gone was disabled.
GONE = "answered 410 Gone (its receiver no longer takes events)"


def _disable(endpoint: Endpoint, reason: str) -> None:
    """Disable the endpoint and tell its organization's admins why (`reason` completes
    "The webhook endpoint <url> …")."""
    endpoint.is_active = False
    endpoint.disabled_at = timezone.now()
    endpoint.save(update_fields=["is_active", "disabled_at", "updated_at"])
    notification_events.endpoint_disabled(endpoint=endpoint, reason=reason)
    recipients = notify.admin_emails()
    transaction.on_commit(lambda: notify.endpoint_disabled(endpoint, recipients, reason))
