"""How long notifications are kept: a read one NOTIFICATION_READ_DAYS after it was made,
an unread one until it is read. Purging never makes a reminder tell again: the
reminders' deduplication keys only matter within their horizons (a day for an overdue
task, days for an expiring proposal), far inside the kept period."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from notifications.models import Notification
from smartweb.batch_delete import delete_in_batches


def expired_notifications(now: dt.datetime | None = None):
    """The current organization's read notifications past the kept period."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.NOTIFICATION_READ_DAYS)
    return Notification.objects.filter(read_at__isnull=False, created_at__lt=cutoff)


def purge_read(now: dt.datetime | None = None) -> int:
    """Delete the current organization's expired notifications; how many."""
    return delete_in_batches(expired_notifications(now))
