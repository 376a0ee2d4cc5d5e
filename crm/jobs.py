"""Background jobs of the CRM, on procrastinate (a job queue in this PostgreSQL database).

Run a worker with `manage.py procrastinate worker`. Each job names its organization
and the rows it works on by id only (no personal data in the queue, which is not a tenant
table) and does its work inside `tenant_context(organization_id)`, under RLS.

- `run_campaign`: one pass of a campaign (`services.campaign_run`), which defers its
  next pass while there is work left;
- `place_ai_call`: hands one queued call to the provider, retried with exponential
  backoff while the provider is unavailable. The provider request carries the call's
  id as idempotency key, so a retry never places a second call;
- `sweep`: every minute, queues a pass of each active campaign that has work now and no
  pass waiting or running, and the placing of each call waiting for the provider with no
  job (a queueing lost with the database between a commit and its queueing, a pass
  whose job failed: `services.campaign_work_due`);
- `demo_report_call`: the local demo provider's result webhook (crm.demo_provider);
- `report_overdue_tasks`: every five minutes, `task.overdue` webhook events for the
  tasks that came due (`services.tasks_report_overdue`);
- `expire_proposals`: hourly, sent proposals past their `valid_until` become expired,
  recorded in their history, their owners told (`services.proposals_expire`);
- `rebuild_rollups`: nightly, the dashboards' rollups checked against their facts
  (crm.rollups).
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.exceptions import AlreadyEnqueued

from accounts.models import Organization
from crm import demo_provider, rollups, services
from crm.models import Campaign
from crm.providers import ProviderError, ProviderUnavailable, get_provider
from smartweb.jobs import each_organization, job_connection, queue_due
from smartweb.tenancy.context import tenant_context

log = logging.getLogger(__name__)

QUEUE = "crm"
# Waits 4, 16, 64, 256 and 1024 seconds: the last attempt is about 23 minutes in.
PLACE_CALL_RETRY = RetryStrategy(
    max_attempts=5, exponential_wait=4, retry_exceptions={ProviderUnavailable}
)
RUN_RETRY = RetryStrategy(max_attempts=3, exponential_wait=10)
SWEEP_BATCH = 500


def defer_campaign_run(*, organization_id, campaign_id, at: dt.datetime | None = None) -> None:
    """Queue a pass of the campaign (at `at`, or now); one waiting pass per campaign."""
    try:
        run_campaign.configure(queueing_lock=f"crm.campaign:{campaign_id}", schedule_at=at).defer(
            organization_id=str(organization_id), campaign_id=str(campaign_id)
        )
    except AlreadyEnqueued:
        log.debug("A pass of campaign %s is already queued.", campaign_id)


def defer_place_call(*, organization_id, ai_call_id) -> None:
    """Queue the placing of one call; one waiting job per call, never two running."""
    key = f"crm.ai_call:{ai_call_id}"
    try:
        place_ai_call.configure(lock=key, queueing_lock=key).defer(
            organization_id=str(organization_id), ai_call_id=str(ai_call_id)
        )
    except AlreadyEnqueued:
        log.debug("AI call %s is already queued.", ai_call_id)


@app.task(name="crm.run_campaign", queue=QUEUE, retry=RUN_RETRY, pass_context=True)
def run_campaign(context, *, organization_id: str, campaign_id: str) -> int:
    with job_connection(context):
        with tenant_context(organization_id):
            campaign = Campaign.objects.filter(pk=campaign_id).first()
            if campaign is None:
                return 0
            result = services.campaign_run(campaign=campaign)
        if result.next_run_at is not None:
            defer_campaign_run(
                organization_id=organization_id, campaign_id=campaign_id, at=result.next_run_at
            )
        return result.queued


@app.task(name="crm.place_ai_call", queue=QUEUE, retry=PLACE_CALL_RETRY, pass_context=True)
def place_ai_call(context, *, organization_id: str, ai_call_id: str) -> str:
    with job_connection(context):
        with tenant_context(organization_id):
            placement = services.ai_call_prepare(ai_call_id=ai_call_id)
        if placement is None:
            return "skipped"
        provider_name, request = placement
        # The provider is called outside any transaction: no row lock is held meanwhile.
        try:
            started = get_provider(provider_name).start_call(request)
        except ProviderUnavailable as exc:
            if context.job.attempts >= PLACE_CALL_RETRY.max_attempts:
                _fail(organization_id, ai_call_id, str(exc))
            raise
        except ProviderError as exc:
            _fail(organization_id, ai_call_id, str(exc))
            return "failed"
        with tenant_context(organization_id):
            services.ai_call_mark_started(ai_call_id=ai_call_id, started=started)
        return started.provider_call_id


def _fail(organization_id: str, ai_call_id: str, reason: str) -> None:
    with tenant_context(organization_id):
        services.ai_call_mark_failed(ai_call_id=ai_call_id, reason=reason)


@app.periodic(cron="* * * * *")
@app.task(name="crm.sweep", queue=QUEUE, queueing_lock="crm.sweep", pass_context=True)
def sweep(context, timestamp: int) -> int:
    with job_connection(context):
        return queue_due(_campaign_work_due)


def _campaign_work_due(organization_id) -> list:
    runs, calls = services.campaign_work_due()
    calls = list(calls.values_list("pk", flat=True)[:SWEEP_BATCH])
    return [
        *(
            partial(defer_campaign_run, organization_id=organization_id, campaign_id=pk)
            for pk in _without_job(run_campaign, "campaign_id", runs)
        ),
        *(
            partial(defer_place_call, organization_id=organization_id, ai_call_id=pk)
            for pk in _without_job(place_ai_call, "ai_call_id", calls)
        ),
    ]


def _without_job(task, argument: str, ids: list) -> list:
    """Those of `ids` that no job of `task` waiting or running names as its `argument`.
    A running job counts too: a second one queued beside it would only wait for it to end,
    and the first, retried meanwhile, could not go back to the queue beside it (their
    queueing lock)."""
    if not ids:
        return []
    named = set(
        ProcrastinateJob.objects.filter(
            task_name=task.name,
            status__in=("todo", "doing"),
            **{f"args__{argument}__in": [str(pk) for pk in ids]},
        ).values_list(f"args__{argument}", flat=True)
    )
    return [pk for pk in ids if str(pk) not in named]


@app.task(
    name="crm.demo_report_call",
    queue=QUEUE,
    retry=demo_provider.REPORT_RETRY,
    pass_context=True,
)
def demo_report_call(context, *, organization_id: str, call_id: str, reference: str) -> int:
    with job_connection(context):
        return demo_provider.deliver_report(
            organization_id=organization_id, call_id=call_id, reference=reference
        )


@app.periodic(cron="*/5 * * * *")
@app.task(
    name="crm.report_overdue_tasks",
    queue=QUEUE,
    queueing_lock="crm.report_overdue_tasks",
    pass_context=True,
)
def report_overdue_tasks(context, timestamp: int) -> int:
    """Every five minutes, `task.overdue` for each organization's tasks that came due."""
    with job_connection(context):
        return each_organization(lambda organization: services.tasks_report_overdue())


@app.periodic(cron="17 3 * * *")
@app.task(
    name="crm.rebuild_rollups", queue=QUEUE, queueing_lock="crm.rebuild_rollups", pass_context=True
)
def rebuild_rollups(context, timestamp: int) -> dict[str, int]:
    """Nightly: each organization's dashboard rollups recomputed from their facts; rows
    that differ (a repair of the facts by hand) are corrected and counted in the log. A
    failure keeps the previous rows and fails the job (`/healthz?full=1` reports it)."""
    with job_connection(context):
        organizations = Organization.objects.values_list("pk", flat=True)
        return rollups.rebuild_all(list(organizations))


@app.periodic(cron="7 * * * *")
@app.task(
    name="crm.expire_proposals",
    queue=QUEUE,
    queueing_lock="crm.expire_proposals",
    pass_context=True,
)
def expire_proposals(context, timestamp: int) -> int:
    """Hourly rather than daily: a worker stopped at midnight expires them on its return."""
    with job_connection(context):
        return each_organization(lambda organization: services.proposals_expire())
