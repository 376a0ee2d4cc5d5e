"""Platform jobs: the job queue's own upkeep.

`retry_stalled_jobs` runs every JOBS_STALLED_CHECK_SECONDS on any live worker. A worker
killed mid-job (SIGKILL, out of memory, its machine gone) leaves its job `doing` for
ever, holding the job's lock so that no other job for the same row can start. Workers
write a heartbeat (settings.PROCRASTINATE_WORKER_DEFAULTS); the jobs of a worker silent
for JOBS_STALLED_AFTER_SECONDS are put back to `todo`, which releases their lock, and a
live worker runs them again. Jobs are written to be run again safely (an AI call is
placed with its idempotency key, so a retry never places a second call). A stalled job
whose work was queued again meanwhile (a job with its queueing lock waits, as a webhook
endpoint's next drain does) cannot go back to `todo` beside it, and that one cannot start
while the stalled one holds their lock: the stalled one is ended as failed instead, and
the waiting one does the work.

`SCHEDULED_COMMANDS` are management commands the worker runs on a schedule, so that a
deployment needs no outside cron: one periodic job per entry, named
`smartweb.command.<name>`. To schedule another command, add an entry; each command does
its own per-organization work in each organization's context and is safe to run again.
The queue's own retention is one of them: `purge_job_queue` (smartweb.job_retention).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.exceptions import ProcrastinateException, UniqueViolation
from procrastinate.jobs import Status
from procrastinate.manager import QUEUEING_LOCK_CONSTRAINT

from smartweb import time_zones
from smartweb.origin import job_origin
from smartweb.tenancy.context import tenant_context

log = logging.getLogger(__name__)


@contextmanager
def job_connection(context) -> Iterator[None]:
    """The worker runs synchronous jobs on pooled threads that no request cycle cleans
    up: start from a usable connection and close it after the job. What the job writes
    names it as its origin."""
    close_old_connections()
    try:
        with job_origin(context.job.id, context.job.task_name):
            yield
    finally:
        connection.close()


def each_organization(work: Callable) -> int:
    """Run `work(organization)` in each active organization's context and time zone (its
    "today", the hour its digest goes out: smartweb.time_zones), one transaction each,
    and add up what it returns. The registry of tenants is read here, when a job runs:
    the platform layer imports no app at load time."""
    from accounts.models import Organization

    done = 0
    for organization in Organization.objects.filter(is_active=True).order_by("pk"):
        with tenant_context(organization), timezone.override(time_zones.zone_of(organization)):
            done += work(organization)
    return done


def queue_due(due: Callable[[object], Iterable[Callable[[], object]]]) -> int:
    """A sweep: in each organization's context, `due(organization_id)` reads the work a
    job should be doing, given as the queueings of those jobs; they are made once the
    context is left (the queue's rows are its own), and counted. The sweeps recover
    work whose queueing was lost after its commit (webhooks, email, campaigns)."""
    from accounts.models import Organization

    queued = 0
    for organization_id in Organization.objects.values_list("pk", flat=True):
        with tenant_context(organization_id):
            queueings = list(due(organization_id))
        for queue in queueings:
            queue()
        queued += len(queueings)
    return queued


@dataclass(frozen=True)
class ScheduledCommand:
    name: str
    cron: str
    args: tuple[str, ...] = ()


SCHEDULED_COMMANDS: tuple[ScheduledCommand, ...] = (
    # Retention (compliance.retention): what each organization's settings let go, daily.
    ScheduledCommand("purge_expired", "43 2 * * *", ("--all", "--no-progress")),
    # Stored attachment files that no row names (attachments.sweep), daily after the purge.
    ScheduledCommand("sweep_attachment_files", "29 3 * * *"),
    # The job queue's ended jobs past their retention (smartweb.job_retention), daily.
    ScheduledCommand("purge_job_queue", "3 4 * * *"),
)


def _schedule(entry: ScheduledCommand):
    task_name = f"smartweb.command.{entry.name}"

    @app.periodic(cron=entry.cron)
    @app.task(name=task_name, queue="maintenance", queueing_lock=task_name, pass_context=True)
    def run_command(context, timestamp: int) -> int:
        # A command that fails fails the job, which /healthz?full=1 then reports.
        out = io.StringIO()
        with job_connection(context):
            call_command(entry.name, *entry.args, stdout=out, stderr=out)
        log.info("%s: %s", task_name, out.getvalue()[-2000:])
        return len(out.getvalue())

    return run_command


scheduled_command_jobs = {entry.name: _schedule(entry) for entry in SCHEDULED_COMMANDS}


@app.periodic(cron=f"* * * * * */{settings.JOBS_STALLED_CHECK_SECONDS}")
@app.task(name="smartweb.retry_stalled_jobs", queueing_lock="smartweb.retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> int:
    manager = app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.JOBS_STALLED_AFTER_SECONDS
    )
    retried = 0
    for job in stalled:
        try:
            await manager.retry_job(job)
        except UniqueViolation as exc:
            if exc.constraint_name != QUEUEING_LOCK_CONSTRAINT:
                continue
            await _end_superseded(manager, job)
            continue
        except ProcrastinateException:
            # Retried meanwhile by another worker's check, or finished after all.
            continue
        retried += 1
        log.warning("Job %s (%s) of a dead worker is retried.", job.id, job.task_name)
    return retried


async def _end_superseded(manager, job) -> None:
    """End a stalled job whose work waits in another job with its queueing lock."""
    try:
        await manager.finish_job(job, status=Status.FAILED, delete_job=False)
    except ProcrastinateException:
        return  # finished meanwhile, or ended by another worker's check
    log.warning(
        "Job %s (%s) of a dead worker is ended: the same work is queued again (%s).",
        job.id,
        job.task_name,
        job.queueing_lock,
    )


# Each task's last job that succeeded or failed: what the health report reads, and what
# the queue's retention keeps whatever its age (smartweb.job_retention).
LAST_FINISHED_JOBS = """
SELECT DISTINCT ON (task_name) id, task_name, status FROM procrastinate_jobs
 WHERE status IN ('succeeded', 'failed') ORDER BY task_name, id DESC
"""
LAST_FAILED_TASKS = (
    f"SELECT task_name FROM ({LAST_FINISHED_JOBS}) last WHERE status = 'failed' ORDER BY 1"
)


def failed_tasks(cursor) -> list[str]:
    """Tasks whose last finished job failed (a periodic job that no longer does its work),
    for /healthz?full=1."""
    cursor.execute(LAST_FAILED_TASKS)
    return [name for (name,) in cursor.fetchall()]
