"""The job queue's retention (smartweb.job_retention) on a backlog of ended jobs.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.job_retention \
        [--old 300000] [--recent 56000] [--limits 1000,5000]

A database of its own (`smartweb_bench_jobs`, dropped, created and migrated), filled as
the owner role with `--old` jobs that ended 8 to 90 days ago (1% failed, 1% cancelled,
1% aborted, the rest succeeded), `--recent` that succeeded within the week (a week of the
periodic jobs), 200 waiting and 4 running, each with its events as procrastinate writes
them (deferred, started, then its end; a cancelled job deferred, then cancelled). Then,
as the runtime role, for each batch limit: the purge with each batch timed, and a second
purge (a daily run once the backlog is gone). A batch's row locks are held from its
statement to its commit, so its time bounds them (the first batch's time also holds the
query of each task's last job, which locks nothing); a session beside it also records the
longest it sees the purge's connection in a transaction holding row locks. Last, on the
backlog filled again, procrastinate's own `delete_old_jobs` statement (what its
`remove_old_jobs` task runs), once for the finished jobs and once for the failed ones.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

import psycopg

from bench import databases, world

DATABASE = "smartweb_bench_jobs"

FILL = """
CREATE TEMP TABLE fill AS
SELECT n AS id,
       CASE WHEN n > %(old)s THEN 'succeeded'
            WHEN n %% 100 = 0 THEN 'failed' WHEN n %% 100 = 1 THEN 'cancelled'
            WHEN n %% 100 = 2 THEN 'aborted' ELSE 'succeeded' END::procrastinate_job_status
           AS status,
       (ARRAY['smartweb.retry_stalled_jobs', 'smartweb.retry_stalled_jobs',
              'smartweb.retry_stalled_jobs', 'smartweb.retry_stalled_jobs',
              'smartweb.retry_stalled_jobs', 'webhooks.sweep', 'webhooks.deliver',
              'notifications.remind', 'crm.report_overdue_tasks', 'mailing.send'])[n %% 10 + 1]
           AS task_name,
       CASE WHEN n <= %(old)s
            THEN now() - interval '90 days' + (n::float / %(old)s) * interval '82 days'
            ELSE now() - interval '167 hours'
                 + ((n - %(old)s)::float / %(recent)s) * interval '166 hours' END AS ended
  FROM generate_series(1, %(old)s + %(recent)s) n;
INSERT INTO procrastinate_jobs (id, queue_name, task_name, args, status, attempts)
SELECT id, 'default', task_name, jsonb_build_object('timestamp', id), status, 1 FROM fill;
INSERT INTO procrastinate_events (job_id, type, at)
SELECT id, step.type::procrastinate_job_event_type, ended - step.before
  FROM fill,
       LATERAL (VALUES ('deferred', interval '2 seconds'), ('started', interval '1 second'),
                       (status::text, interval '0')) step(type, before)
 WHERE status <> 'cancelled' OR step.type <> 'started';
SELECT setval('procrastinate_jobs_id_seq', %(old)s + %(recent)s);
-- Waiting and running jobs, deferred long ago: never deleted.
INSERT INTO procrastinate_jobs (queue_name, task_name, args, scheduled_at)
SELECT 'crm', 'crm.run_campaign', '{}', now() - interval '60 days' FROM generate_series(1, 200);
UPDATE procrastinate_jobs SET status = 'doing'
 WHERE id IN (SELECT id FROM procrastinate_jobs WHERE status = 'todo' ORDER BY id LIMIT 4);
"""


def fill(old: int, recent: int) -> float:
    started = time.perf_counter()
    with psycopg.connect(databases.owner_url(DATABASE), autocommit=True) as conn:
        conn.execute("TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE")
        with conn.transaction():
            for statement in FILL.split(";\n")[:-1]:
                conn.execute(statement, {"old": old, "recent": recent})
        conn.execute("VACUUM ANALYZE procrastinate_jobs, procrastinate_events")
    return time.perf_counter() - started


def sizes() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM procrastinate_jobs),"
            " (SELECT count(*) FROM procrastinate_events)"
        )
        jobs, events = cursor.fetchone()
    return {"jobs": jobs, "events": events}


class LongestTransaction:
    """From another session: the longest the purge's connection is seen in a transaction
    that holds row locks (one with a transaction id: it locked or wrote a row), polled
    every millisecond."""

    def __init__(self, pid: int):
        self.pid = pid
        self.longest_ms = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def _watch(self) -> None:
        with psycopg.connect(databases.runtime_url(DATABASE), autocommit=True) as conn:
            while not self._stop.is_set():
                (age,) = conn.execute(
                    "SELECT extract(epoch FROM clock_timestamp() - xact_start) * 1000"
                    " FROM pg_stat_activity WHERE pid = %s AND backend_xid IS NOT NULL",
                    [self.pid],
                ).fetchone() or (0,)
                self.longest_ms = max(self.longest_ms, float(age))
                time.sleep(0.001)

    def __enter__(self) -> LongestTransaction:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def purge(limit: int) -> dict:
    from django.db import connection

    from smartweb import job_retention
    from smartweb.jobs import LAST_FINISHED_JOBS

    connection.ensure_connection()
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(f"SELECT count(*) FROM ({LAST_FINISHED_JOBS}) last")
        kept_ms = (time.perf_counter() - started) * 1000
    batch_ms: list[float] = []
    deleted = 0
    with LongestTransaction(connection.connection.info.backend_pid) as watch:
        started = time.perf_counter()
        batches = job_retention.batches(limit=limit)
        while True:
            step = time.perf_counter()
            try:
                deleted += next(batches).total()
            except StopIteration:
                last_ms = (time.perf_counter() - step) * 1000
                break
            batch_ms.append((time.perf_counter() - step) * 1000)
        total_s = time.perf_counter() - started
    return {
        "deleted": deleted,
        "total_s": round(total_s, 2),
        "batches": len(batch_ms),
        "batch_ms": _spread(batch_ms),
        "end_scan_ms": round(last_ms, 1),
        "last_of_each_task_ms": round(kept_ms, 1),
        "longest_locking_transaction_seen_ms": round(watch.longest_ms, 1),
    }


def _spread(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[int(len(ordered) * 0.95)], 1),
        "max": round(ordered[-1], 1),
        "first": round(samples[0], 1),
        "max_after_first": round(max(samples[1:], default=0), 1),
    }


def procrastinates_own() -> dict:
    """procrastinate's `delete_old_jobs` as its `remove_old_jobs` task runs it: one
    statement per retention."""
    from django.conf import settings
    from django.db import connection
    from procrastinate.sql import queries

    timings = {}
    for label, statuses, days in (
        ("finished", ["succeeded", "cancelled", "aborted"], settings.JOBS_FINISHED_DAYS),
        ("failed", ["failed"], settings.JOBS_FAILED_DAYS),
    ):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                queries["delete_old_jobs"],
                {"nb_hours": days * 24, "queue": None, "statuses": statuses},
            )
            deleted = cursor.rowcount
        timings[label] = {
            "deleted": deleted,
            "statement_s": round(time.perf_counter() - started, 2),
        }
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=int, default=300_000)
    parser.add_argument("--recent", type=int, default=56_000)
    parser.add_argument("--limits", default="1000", help="Batch limits to measure, in turn.")
    args = parser.parse_args()
    world.setup_django(DATABASE)
    results: dict = {"old": args.old, "recent": args.recent, "runs": {}}
    for limit in [int(value) for value in args.limits.split(",")]:
        fill_s = fill(args.old, args.recent)
        before = sizes()
        first = purge(limit)
        after = sizes()
        results["runs"][limit] = {
            "fill_s": round(fill_s, 1),
            "before": before,
            "after": after,
            "purge": first,
            "again": purge(limit),
        }
        print(json.dumps({limit: results["runs"][limit]}), flush=True)
    fill(args.old, args.recent)
    results["procrastinate_delete_old_jobs"] = procrastinates_own()
    results["procrastinate_after"] = sizes()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
