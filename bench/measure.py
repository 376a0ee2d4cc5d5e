"""Timing helpers: percentiles, and the same statements under RLS and without it."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from smartweb import database_config, dbloaders
from smartweb.db_bootstrap import SEARCH_ROLE

CONTEXT = (
    "SELECT set_config('smartweb.organization_id', %s::text, true),"
    " set_config('smartweb.user_id', %s::text, true)"
)


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


WARMUP = 3


def interleaved(
    runs: dict[str, Callable[[], float]], *, iterations: int, seconds: float, warmup: int = WARMUP
) -> dict[str, Timing]:
    """Call each of `runs` (each returns its own duration in ms) in turn, up to `iterations`
    times or for `seconds` (at least 20 times), after a few unmeasured turns that bring the
    data into the caches. In turn, one call of each after the other, not all of one run
    then all of the next: the host is shared and its speed drifts within seconds, and a
    drift then weighs on every run alike instead of skewing their ratios. The order
    rotates, so that none always runs first."""
    order = list(runs)
    for _ in range(warmup):
        for name in order:
            runs[name]()
    samples: dict[str, list[float]] = {name: [] for name in order}
    deadline = time.perf_counter() + seconds
    turn = 0
    while turn < iterations and (turn < 20 or time.perf_counter() < deadline):
        for name in order[turn % len(order) :] + order[: turn % len(order)]:
            samples[name].append(runs[name]())
        turn += 1
    return {name: Timing(values) for name, values in samples.items()}


def connect(url: str) -> psycopg.Connection:
    # No server-side prepared statements: Django's client-side binding never makes them,
    # and a generic plan would not be what the application gets. Values are decoded as on
    # the application's connections.
    conn = psycopg.connect(url, autocommit=True)
    conn.prepare_threshold = None
    dbloaders.configure(conn)
    for statement in database_config.set_statements(database_config.SESSION_SETTINGS):
        conn.execute(statement)  # as the application's sessions
    return conn


class Statements:
    """A request's statements on one connection, run in order by each call, which returns
    their total time (ms); only the statements are timed (send, execute, fetch). Keeps the
    largest row count and each statement's own times."""

    def __init__(self, conn, statements: list[str], context: list[str] | None = None):
        self.conn, self.statements, self.context = conn, statements, context
        self.rows = 0
        self._each: list[list[float]] = [[] for _ in statements]

    def __call__(self) -> float:
        # Each run in a transaction of its own, or a savepoint rolled back, which releases
        # the locks its statements took: every run takes its locks anew, as a request does.
        with self.conn.transaction(force_rollback=self.context is None):
            if self.context is not None:  # set transaction-locally, as the app does
                self.conn.execute(CONTEXT, self.context)
            return self._execute()

    def _execute(self) -> float:
        started = time.perf_counter()
        for index, statement in enumerate(self.statements):
            begun = time.perf_counter()
            self.rows = max(self.rows, len(self.conn.execute(statement).fetchall()))
            self._each[index].append((time.perf_counter() - begun) * 1000)
        return (time.perf_counter() - started) * 1000

    def each(self, measured: int) -> list[Timing]:
        """Each statement's times in the last `measured` runs (the warm-up ones before)."""
        return [Timing(samples[len(samples) - measured :]) for samples in self._each]


@contextmanager
def under_rls(
    url: str, organization_id: str, user_id: str, statements: list[str]
) -> Iterator[Statements]:
    """As the runtime role, each run in its own transaction with the organization context."""
    with connect(url) as conn:
        yield Statements(conn, statements, [str(organization_id), str(user_id)])


@contextmanager
def without_rls(
    url: str, organization_id: str, user_id: str, statements: list[str]
) -> Iterator[Statements]:
    """As the search role (BYPASSRLS, smartweb.db_bootstrap), which the owner role may
    become: not subject to the policies. Inside one transaction, rolled back at the end,
    that first grants it SELECT on every table: nothing changes for anyone else, no table
    is locked against the runtime role's runs in between, and a crash leaves nothing
    behind. The statements carry the app's explicit organization filter, so they return
    the same rows; the context is set for what reads it outside the policies. Each run
    is a savepoint, rolled back (Statements)."""
    with connect(url) as conn, conn.transaction(force_rollback=True):
        role = sql.Identifier(SEARCH_ROLE)
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(role))
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(role))
        conn.execute(CONTEXT, [str(organization_id), str(user_id)])
        yield Statements(conn, statements)


def explain(url: str, organization_id: str, user_id: str, statements: list[str]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement as the runtime role, under RLS."""
    plans = []
    with connect(url) as conn, conn.transaction(force_rollback=True):
        conn.execute(CONTEXT, [organization_id, user_id])
        for statement in statements:
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement).fetchall()
            plans.append("\n".join(row[0] for row in rows))
    return plans
