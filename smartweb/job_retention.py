"""How long the job queue keeps the jobs that ended.

procrastinate leaves every job in `procrastinate_jobs` when it ends, with its events in
`procrastinate_events`, and never deletes one: the periodic jobs alone add ~8,000 a day
(the stalled-job check 5,760 of them). A job that succeeded, was cancelled or aborted is
deleted once it ended JOBS_FINISHED_DAYS ago, a failed one (what operators look into)
JOBS_FAILED_DAYS ago; a job waiting or running is never touched. A job ended when its
last event was written. Each task's last succeeded or failed job is kept whatever its age:
it is what /healthz?full=1 reads (smartweb.jobs.failed_tasks), so that a task that failed
and then succeeded once, weeks ago, is not reported failing once its success is gone.

A job's events go with it (their foreign key cascades); procrastinate's own trigger
unlinks the periodic deferral that names it. The ended jobs are looked at JOB_BATCH at a
time in id order, and those past their retention deleted in one short transaction per
batch, locked with SKIP LOCKED: two purges at once (the schedule's and one run by hand)
share the work and neither waits for the other, and a job an admin action holds
meanwhile is left for the next run. procrastinate's own `remove_old_jobs` task deletes
every old job in one statement, after sorting the whole queue joined to all its events
(docs/decisions/0032).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.jobs import Status

from smartweb.jobs import LAST_FINISHED_JOBS

# Jobs looked at per transaction, each with its ~3 events (bench/README.md, "The job
# queue's retention").
JOB_BATCH = 1000

ENDED = [
    status.value for status in (Status.SUCCEEDED, Status.CANCELLED, Status.ABORTED, Status.FAILED)
]

# The next ended jobs in id order, past the last batch's: a batch looks at no more than
# its limit, however few of them are old enough (a week of recent jobs at the end).
NEXT_ENDED = """
SELECT id FROM procrastinate_jobs
 WHERE id > %(after)s AND status = ANY(%(ended)s::procrastinate_job_status[])
 ORDER BY id LIMIT %(limit)s
"""
# Those of them past their retention, checked again once locked (a failed job retried
# meanwhile waits to run again); one another purge holds is its to delete.
DELETE_PAST_RETENTION = """
DELETE FROM procrastinate_jobs WHERE id IN (
    SELECT job.id FROM procrastinate_jobs job
     WHERE job.id = ANY(%(ids)s)
       AND job.status = ANY(%(ended)s::procrastinate_job_status[])
       AND job.id <> ALL(%(kept)s::bigint[])
       AND (SELECT max(event.at) FROM procrastinate_events event WHERE event.job_id = job.id)
           < CASE WHEN job.status = 'failed' THEN %(failed_before)s ELSE %(finished_before)s END
       FOR UPDATE SKIP LOCKED
)
RETURNING status
"""


def batches(now: dt.datetime | None = None, limit: int = JOB_BATCH) -> Iterator[Counter]:
    """Delete the jobs past their retention, looking at `limit` ended jobs per
    transaction; yield each committed batch's count of deleted jobs by status."""
    now = now or timezone.now()
    params = {
        "ended": ENDED,
        "finished_before": now - dt.timedelta(days=settings.JOBS_FINISHED_DAYS),
        "failed_before": now - dt.timedelta(days=settings.JOBS_FAILED_DAYS),
        "kept": _last_of_each_task(),
        "limit": limit,
        "after": 0,
    }
    while True:
        with connection.cursor() as cursor:
            cursor.execute(NEXT_ENDED, params)
            params["ids"] = [job_id for (job_id,) in cursor.fetchall()]
        if not params["ids"]:
            return
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(DELETE_PAST_RETENTION, params)
            deleted = Counter(status for (status,) in cursor.fetchall())
        yield deleted
        params["after"] = params["ids"][-1]


def purge(now: dt.datetime | None = None, limit: int = JOB_BATCH) -> Counter:
    """Delete the jobs past their retention; how many of each status."""
    return sum(batches(now, limit), Counter())


def _last_of_each_task() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM ({LAST_FINISHED_JOBS}) last")
        return [job_id for (job_id,) in cursor.fetchall()]
