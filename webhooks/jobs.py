"""Background jobs of the outbound webhooks (procrastinate).

- `deliver`: drains one endpoint's due deliveries, queued when a transaction that
  emitted events for it commits, and again while work is left. The endpoint is the
  unit: jobs of one endpoint run one at a time (`lock`), with one more waiting at most
  (`queueing_lock`); jobs of different endpoints run side by side, as many as the
  worker runs at once (JOBS_CONCURRENCY), so a slow receiver holds up its own events
  only;
- `sweep`: every minute, queues `deliver` for each endpoint whose oldest pending
  delivery is due (retries coming due, and events whose queueing was lost with a crash);
- `purge_log`: every night, the events finished for WEBHOOK_LOG_DAYS, with their
  deliveries and attempts (`log_retention`).
"""

from __future__ import annotations

import logging
from functools import partial

from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued

from accounts.models import Organization
from smartweb.jobs import job_connection, queue_due
from smartweb.tenancy.context import tenant_context
from webhooks import backlog, delivery, log_retention

log = logging.getLogger(__name__)

QUEUE = "webhooks"
BATCH = 100


def defer_delivery(*, organization_id, endpoint_id) -> None:
    """Queue a drain of the endpoint's deliveries, to run after the one running, if any."""
    key = f"webhooks.deliver:{endpoint_id}"
    try:
        deliver.configure(lock=key, queueing_lock=key).defer(
            organization_id=str(organization_id), endpoint_id=str(endpoint_id)
        )
    except AlreadyEnqueued:
        log.debug("A webhook drain of endpoint %s is already queued.", endpoint_id)


@app.task(name="webhooks.deliver", queue=QUEUE, pass_context=True)
def deliver(context, *, organization_id: str, endpoint_id: str) -> int:
    with job_connection(context):
        attempted = delivery.deliver_due(
            organization_id=organization_id, endpoint_id=endpoint_id, limit=BATCH
        )
    if attempted == BATCH:
        defer_delivery(organization_id=organization_id, endpoint_id=endpoint_id)
    return attempted


@app.periodic(cron="* * * * *")
@app.task(name="webhooks.sweep", queue=QUEUE, queueing_lock="webhooks.sweep", pass_context=True)
def sweep(context, timestamp: int) -> int:
    with job_connection(context):
        return queue_due(_drains_due)


def _drains_due(organization_id) -> list:
    due = backlog.endpoints_due().values_list("pk", flat=True)
    return [partial(defer_delivery, organization_id=organization_id, endpoint_id=pk) for pk in due]


@app.periodic(cron="40 3 * * *")
@app.task(
    name="webhooks.purge_log", queue=QUEUE, queueing_lock="webhooks.purge_log", pass_context=True
)
def purge_log(context, timestamp: int) -> int:
    deleted = 0
    with job_connection(context):
        for organization_id in Organization.objects.values_list("pk", flat=True):
            with tenant_context(organization_id):
                deleted += log_retention.purge_log()
    log.info("Purged %d finished webhook events.", deleted)
    return deleted
