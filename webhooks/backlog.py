"""An endpoint's backlog: its pending deliveries, sent in the order of their events.

The oldest pending delivery of an endpoint goes first, and nothing newer goes while it
waits for its retry: a receiver never gets an event before an older one that is still to
come, unless the older one failed for good (its day of retries ran out, or the endpoint
was deleted). When the receiver is taken to be mended (an attempt succeeded after
failures, or the endpoint was enabled again), what waits for a retry is made due at once.
"""

from __future__ import annotations

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Endpoint


def waiting(endpoint_id) -> QuerySet[Delivery]:
    """The endpoint's pending deliveries (oldest event first: `.order_by("created_at")`,
    a delivery being made with its event)."""
    return Delivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING)


def endpoints_due() -> QuerySet[Endpoint]:
    """The current organization's active endpoints whose oldest pending delivery is due
    (a newer one behind it waits for it, due or not)."""
    oldest = waiting(OuterRef("pk")).order_by("created_at").values("next_attempt_at")[:1]
    return (
        Endpoint.objects.filter(is_active=True)
        .annotate(oldest_due_at=Subquery(oldest))
        .filter(oldest_due_at__lte=timezone.now())
    )


def send_waiting_now(endpoint_id) -> None:
    """The receiver is taken to be mended: the endpoint's deliveries waiting for a retry
    are due now, not each at its own next try (an older event, further into its backoff,
    would come after a later one). Each is due as of when its event was emitted, the order
    its drain sends them in."""
    waiting(endpoint_id).filter(next_attempt_at__gt=F("created_at")).update(
        next_attempt_at=F("created_at")
    )
