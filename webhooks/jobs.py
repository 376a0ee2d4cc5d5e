"""Background jobs of the outbound webhooks (procrastinate).

- `deliver`: drains one organization's due deliveries, queued when a transaction that
  emitted events commits (one waiting job per organization), and again while work is
  left;
- `sweep`: every minute, queues `deliver` for each organization with deliveries due
  (retries coming due, and events whose queueing was lost with a crash);
- `purge_log`: every night, the events finished for WEBHOOK_LOG_DAYS, with their
  deliveries and attempts (`log_retention`).
"""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued

from accounts.models import Organization
from smartweb.jobs import job_connection
from smartweb.tenancy.context import tenant_context
from webhooks import delivery, log_retention

log = logging.getLogger(__name__)

QUEUE = "webhooks"
BATCH = 100


def defer_delivery(*, organization_id) -> None:
    """Queue a drain of the organization's deliveries; one waiting drain per organization."""
    try:
        deliver.configure(queueing_lock=f"webhooks.deliver:{organization_id}").defer(
            organization_id=str(organization_id)
        )
    except AlreadyEnqueued:
        log.debug("A webhook drain of %s is already queued.", organization_id)


@app.task(name="webhooks.deliver", queue=QUEUE, pass_context=True)
def deliver(context, *, organization_id: str) -> int:
    with job_connection(context):
        attempted = delivery.deliver_due(organization_id=organization_id, limit=BATCH)
    if attempted == BATCH:
        defer_delivery(organization_id=organization_id)
    return attempted


@app.periodic(cron="* * * * *")
@app.task(name="webhooks.sweep", queue=QUEUE, queueing_lock="webhooks.sweep", pass_context=True)
def sweep(context, timestamp: int) -> int:
    queued = 0
    with job_connection(context):
        for organization_id in Organization.objects.values_list("pk", flat=True):
            with tenant_context(organization_id):
                has_due = delivery.due().exists()
            if has_due:
                defer_delivery(organization_id=organization_id)
                queued += 1
    return queued


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
