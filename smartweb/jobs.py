"""Platform jobs: the job queue's own upkeep.

`retry_stalled_jobs` runs every JOBS_STALLED_CHECK_SECONDS on any live worker. A worker
killed mid-job (SIGKILL, out of memory, its machine gone) leaves its job `doing` for
ever, holding the job's lock so that no other job for the same row can start. Workers
write a heartbeat (settings.PROCRASTINATE_WORKER_DEFAULTS); the jobs of a worker silent
for JOBS_STALLED_AFTER_SECONDS are put back to `todo`, which releases their lock, and a
live worker runs them again. Jobs are written to be run again safely (an AI call is
placed with its idempotency key, so a retry never places a second call).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import close_old_connections, connection
from procrastinate.contrib.django import app
from procrastinate.exceptions import ProcrastinateException

from smartweb.origin import job_origin

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
        except ProcrastinateException:
            # Retried meanwhile by another worker's check, or finished after all.
            continue
        retried += 1
        log.warning("Job %s (%s) of a dead worker is retried.", job.id, job.task_name)
    return retried


LAST_FAILED_TASKS = """
SELECT task_name FROM (
    SELECT DISTINCT ON (task_name) task_name, status FROM procrastinate_jobs
     WHERE status IN ('succeeded', 'failed') ORDER BY task_name, id DESC
) last WHERE status = 'failed' ORDER BY 1
"""


def failed_tasks(cursor) -> list[str]:
    """Tasks whose last finished job failed (a periodic job that no longer does its work),
    for /healthz?full=1."""
    cursor.execute(LAST_FAILED_TASKS)
    return [name for (name,) in cursor.fetchall()]
