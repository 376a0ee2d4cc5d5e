"""How long the outbox and the delivery log are kept.

An event stays while any of its deliveries is pending; once every delivery is finished
(delivered, or failed after a day of retries) it is kept WEBHOOK_LOG_DAYS for the
delivery log and then deleted with its deliveries and attempts. The once-only events
(`task.overdue`) stay deduplicated: a task is reported only within a day of coming due
(crm.services.OVERDUE_REPORT_HORIZON), far inside the log's lifetime.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from smartweb.batch_delete import delete_in_batches
from webhooks.choices import DeliveryStatus
from webhooks.models import OutboxEvent


def expired_events(now: dt.datetime | None = None):
    """The current organization's events past the log's lifetime with nothing pending."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.WEBHOOK_LOG_DAYS)
    return OutboxEvent.objects.filter(created_at__lt=cutoff).exclude(
        deliveries__status=DeliveryStatus.PENDING
    )


def purge_log(now: dt.datetime | None = None) -> int:
    """Delete the current organization's expired events, their deliveries and attempts,
    a batch per transaction. Returns the number of events deleted."""
    return delete_in_batches(expired_events(now))
