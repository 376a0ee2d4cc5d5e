"""Background jobs of email (procrastinate).

- `send`: delivers one message, queued when the transaction that wrote it commits;
- `sweep`: every minute, queues `send` for the messages due in each organization (retries
  coming due, and messages whose queueing was lost with a crash after the commit).
"""

from __future__ import annotations

import logging
from functools import partial

from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued

from mailing import delivery
from smartweb.jobs import job_connection, queue_due
from smartweb.tenancy.context import tenant_context

log = logging.getLogger(__name__)

QUEUE = "mailing"
SWEEP_BATCH = 200


def defer_send(*, organization_id, message_id) -> None:
    """Queue the sending of one message; one waiting job per message."""
    try:
        send.configure(queueing_lock=f"mailing.send:{message_id}").defer(
            organization_id=str(organization_id), message_id=str(message_id)
        )
    except AlreadyEnqueued:
        log.debug("The sending of %s is already queued.", message_id)


@app.task(name="mailing.send", queue=QUEUE, pass_context=True)
def send(context, *, organization_id: str, message_id: str) -> str:
    with job_connection(context), tenant_context(organization_id):
        return delivery.deliver(message_id=message_id)


@app.periodic(cron="* * * * *")
@app.task(name="mailing.sweep", queue=QUEUE, queueing_lock="mailing.sweep", pass_context=True)
def sweep(context, timestamp: int) -> int:
    with job_connection(context):
        return queue_due(_sends_due)


def _sends_due(organization_id) -> list:
    ids = delivery.due().values_list("pk", flat=True)[:SWEEP_BATCH]
    return [partial(defer_send, organization_id=organization_id, message_id=pk) for pk in ids]
