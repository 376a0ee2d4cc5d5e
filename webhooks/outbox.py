"""`emit(event_type, payload)`: the services report an event, in their own transaction.

The event and one pending delivery per subscribed, active endpoint of the current
organization are written in the caller's transaction, so they exist if and only if it
commits; once it has, a delivery job is queued for each of those endpoints (the periodic
sweep picks up anything a lost queueing missed). With no endpoint subscribed, nothing is
written.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from smartweb.tenancy.context import current_organization_id
from webhooks.choices import EventType
from webhooks.models import Delivery, Endpoint, OutboxEvent

NUDGE_MARK = "webhooks_nudge_for"


class _UTCEncoder(DjangoJSONEncoder):
    """Date times in UTC ("…Z"), as the API writes them: a value typed in the back office
    is in its organization's zone (docs/decisions/0050), which the receiver is not told."""

    def default(self, o):
        if isinstance(o, dt.datetime) and o.tzinfo is not None:
            o = o.astimezone(dt.UTC)
        return super().default(o)


def _json_ready(payload: dict[str, Any]) -> dict[str, Any]:
    """Decimals, dates and UUIDs as the API writes them."""
    return json.loads(json.dumps(payload, cls=_UTCEncoder))


def emit(event_type: str, payload: dict[str, Any], *, dedupe_key: str = ""):
    """Record `event_type` with `payload` for the current organization's endpoints; the
    event, or None when no endpoint listens (or `dedupe_key` was emitted before)."""
    event_type = EventType(event_type)  # an unknown type is a programming error
    organization_id = current_organization_id()
    endpoints = list(
        Endpoint.objects.filter(
            is_active=True, event_types__contains=[event_type.value]
        ).values_list("pk", flat=True)
    )
    if not endpoints:
        return None
    with transaction.atomic():
        event = OutboxEvent(
            organization_id=organization_id,
            event_type=event_type,
            payload=_json_ready(payload),
            dedupe_key=dedupe_key,
        )
        if dedupe_key:
            created = OutboxEvent.objects.bulk_create([event], ignore_conflicts=True)
            if not OutboxEvent.objects.filter(pk=created[0].pk).exists():
                return None
        else:
            event.save()
        now = timezone.now()
        Delivery.objects.bulk_create(
            Delivery(
                organization_id=organization_id,
                event=event,
                endpoint_id=endpoint_id,
                next_attempt_at=now,
            )
            for endpoint_id in endpoints
        )
    for endpoint_id in endpoints:
        nudge_on_commit(organization_id, endpoint_id)
    return event


def nudge_on_commit(organization_id, endpoint_id) -> None:
    """Queue the endpoint's drain once the transaction commits: once per transaction,
    however many events it emits (a CSV import emits one per lead). A callback of a
    savepoint rolled back is dropped by Django, so the next emit registers it again.
    Robust: the deliveries are committed by then, and the minute's sweep queues the
    drain of any endpoint with one due (`webhooks.jobs.sweep`), so a queue that fails
    (the database lost between the commit and this) is logged, not answered as a
    failure of the request that did commit."""
    pending = connection.run_on_commit
    if any(getattr(func, NUDGE_MARK, None) == endpoint_id for _, func, _ in pending):
        return

    def nudge():  # a function, not a partial: Django names it when it logs a failure
        _nudge(organization_id, endpoint_id)

    setattr(nudge, NUDGE_MARK, endpoint_id)
    transaction.on_commit(nudge, robust=True)


def _nudge(organization_id, endpoint_id) -> None:
    from webhooks import jobs  # the job module imports this one

    jobs.defer_delivery(organization_id=organization_id, endpoint_id=endpoint_id)
