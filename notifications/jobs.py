"""Periodic jobs of the notifications (procrastinate), each run in every active
organization's context, and safe to run twice (the notifications' keys, the digest's
day mark):

- `remind`: every five minutes, tasks coming due within the hour and overdue, and sent
  proposals about to expire (`notifications.reminders`);
- `send_digests`: hourly; from NOTIFICATION_DIGEST_HOUR on (in each organization's time
  zone), each member's daily digest not yet sent that day (`notifications.digest`);
- `purge_read`: nightly, the read notifications older than NOTIFICATION_READ_DAYS
  (`notifications.retention`).

Proposal expiry itself is a CRM workflow: `crm.expire_proposals`.
"""

from __future__ import annotations

import functools

from django.utils import timezone
from procrastinate.contrib.django import app

from notifications import digest, reminders, retention
from smartweb.jobs import each_organization, job_connection

QUEUE = "notifications"


def _remind(organization) -> int:
    return reminders.remind_tasks() + reminders.remind_expiring_proposals()


@app.periodic(cron="*/5 * * * *")
@app.task(
    name="notifications.remind",
    queue=QUEUE,
    queueing_lock="notifications.remind",
    pass_context=True,
)
def remind(context, timestamp: int) -> int:
    with job_connection(context):
        return each_organization(_remind)


@app.periodic(cron="5 * * * *")
@app.task(
    name="notifications.send_digests",
    queue=QUEUE,
    queueing_lock="notifications.send_digests",
    pass_context=True,
)
def send_digests(context, timestamp: int) -> int:
    now = timezone.now()
    with job_connection(context):
        return each_organization(functools.partial(send_digests_due, now=now))


def send_digests_due(organization, *, now) -> int:
    """The organization's digests once its hour has come, in its time zone (the job runs
    each organization's work in its zone: smartweb.jobs.each_organization)."""
    if not digest.due(now):
        return 0
    return digest.send_digests(organization=organization, now=now)


@app.periodic(cron="50 3 * * *")
@app.task(
    name="notifications.purge_read",
    queue=QUEUE,
    queueing_lock="notifications.purge_read",
    pass_context=True,
)
def purge_read(context, timestamp: int) -> int:
    with job_connection(context):
        return each_organization(lambda organization: retention.purge_read())
