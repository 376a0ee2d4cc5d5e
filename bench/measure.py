"""Timing helpers: percentiles, and the same statements under RLS and without it."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from smartweb import dbloaders

CONTEXT = (
    "SELECT set_config('smartweb.organization_id', %s::text, true),"
    " set_config('smartweb.user_id', %s::text, true)"
)
FORCED_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relforcerowsecurity
"""


@dataclass
class Timing:
    samples: list[float]  # milliseconds

    def percentile(self, p: int) -> float:
        if len(self.samples) < 2:
            return self.samples[0] if self.samples else float("nan")
        return statistics.quantiles(self.samples, n=100, method="inclusive")[p - 1]

    def summary(self) -> dict:
        return {
            "n": len(self.samples),
            "p50": round(self.percentile(50), 3),
            "p95": round(self.percentile(95), 3),
            "p99": round(self.percentile(99), 3),
        }


def merged(timings: list[Timing]) -> Timing:
    return Timing([sample for timing in timings for sample in timing.samples])


WARMUP = 3


def repeat(
    run: Callable[[], float], *, iterations: int, seconds: float, warmup: int = WARMUP
) -> Timing:
    """Call `run` (which returns its own duration in ms) up to `iterations` times, or for
    `seconds`, after a few unmeasured calls that bring the data into the caches."""
    for _ in range(warmup):
        run()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples) < iterations and (len(samples) < 20 or time.perf_counter() < deadline):
        samples.append(run())
    return Timing(samples)


def connect(url: str) -> psycopg.Connection:
    # No server-side prepared statements: Django's client-side binding never makes them,
    # and a generic plan would not be what the application gets. Values are decoded as on
    # the application's connections.
    conn = psycopg.connect(url, autocommit=True)
    conn.prepare_threshold = None
    dbloaders.configure(conn)
    return conn


def _execute_all(
    conn, statements: list[str], each: list[list[float]] | None = None
) -> tuple[float, int]:
    """Run the statements in order; their total time (ms) and the largest row count.
    With `each`, every statement's own time is appended to its list."""
    rows = 0
    started = time.perf_counter()
    for index, statement in enumerate(statements):
        begun = time.perf_counter()
        rows = max(rows, len(conn.execute(statement).fetchall()))
        if each is not None:
            each[index].append((time.perf_counter() - begun) * 1000)
    return (time.perf_counter() - started) * 1000, rows


def under_rls(
    url: str, organization_id: str, user_id: str, statements: list[str], **repeat_args
) -> tuple[Timing, int, list[Timing]]:
    """As the runtime role, each run in its own transaction with the context set the way
    the application sets it (transaction-local); only the statements are timed. Also each
    statement's own timing."""
    found = 0
    each: list[list[float]] = [[] for _ in statements]
    with connect(url) as conn:

        def run() -> float:
            nonlocal found
            with conn.transaction():
                conn.execute(CONTEXT, [organization_id, user_id])
                elapsed, found = _execute_all(conn, statements, each)
            return elapsed

        total = repeat(run, warmup=WARMUP, **repeat_args)
    return total, found, [Timing(samples[WARMUP:]) for samples in each]


def without_rls(
    url: str, organization_id: str, user_id: str, statements: list[str], **repeat_args
) -> tuple[Timing, int]:
    """As the owner role, inside one transaction that lifts FORCE ROW LEVEL SECURITY from
    every table and is rolled back at the end: the owner is then not subject to the
    policies, nothing is changed for anyone else, and a crash leaves nothing behind. The
    statements carry the app's explicit organization filter, so they return the same rows.
    """
    found = 0
    with connect(url) as conn, conn.transaction(force_rollback=True):
        for (table,) in conn.execute(FORCED_TABLES).fetchall():
            conn.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        conn.execute(CONTEXT, [organization_id, user_id])

        def run() -> float:
            nonlocal found
            elapsed, found = _execute_all(conn, statements)
            return elapsed

        return repeat(run, **repeat_args), found


def explain(url: str, organization_id: str, user_id: str, statements: list[str]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement as the runtime role, under RLS."""
    plans = []
    with connect(url) as conn, conn.transaction(force_rollback=True):
        conn.execute(CONTEXT, [organization_id, user_id])
        for statement in statements:
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement).fetchall()
            plans.append("\n".join(row[0] for row in rows))
    return plans
