"""Reporting reads from a streaming read replica (docs/decisions/0024).

Code that only reports (dashboards, the forecast, campaign statistics, exports) runs its
reads inside `reporting_reads()`. There, the ORM reads from the "replica" database alias
when it is configured (DATABASE_REPLICA_URL), reachable, replaying at most
REPLICA_MAX_LAG_SECONDS behind the primary, and the request's transaction on the primary
has not written (read-your-writes). Otherwise the reads stay on the primary; a fallback
for lag or an unreachable replica is logged and counted (`status()`, /healthz?full=1).

The replica is read in a transaction of its own, with the organization context of the
current unit of work set on it (`context.apply_to`): the same runtime role under the same
policies, so a replica read sees the organization's rows or, without a context, none.
Outside `reporting_reads()` every read and every write goes to the primary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)

from smartweb.tenancy import context

REPLICA = "replica"
RESPONSE_HEADER = "X-Read-From"
log = logging.getLogger("smartweb.replica")

# The alias the reads of the current reporting block go to; None outside any.
_route: ContextVar[str | None] = ContextVar("smartweb_read_route", default=None)

# Seconds the standby replays behind the primary. Equal receive and replay positions
# mean it has everything: an idle primary commits nothing, and the age of the last
# replayed commit would otherwise look like lag. NULL: not known (nothing replayed yet).
LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END
"""


@dataclass
class _Health:
    """What this process knows of the replica; shared by its threads, under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    down_until: float = 0.0
    lag: float | None = None
    lag_measured_at: float = float("-inf")
    fallbacks: Counter = field(default_factory=Counter)


_health = _Health()


def configured() -> bool:
    return REPLICA in connections.settings


def _count(reason: str) -> None:
    with _health.lock:
        _health.fallbacks[reason] += 1


def _found_down(exc: Exception) -> None:
    with _health.lock:
        _health.down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
        _health.lag, _health.lag_measured_at = None, float("-inf")
    with suppress(DatabaseError):
        connections[REPLICA].close()
    log.warning(
        "Read replica unreachable, reporting reads go to the primary for %s s: %s",
        settings.REPLICA_RETRY_SECONDS,
        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
    )


def _primary_wrote() -> bool:
    """Whether the primary's open transaction has written (it then holds a transaction
    id): its reads must see those writes, which the replica has not."""
    primary = connections[DEFAULT_DB_ALIAS]
    if not primary.in_atomic_block:
        return False
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
        return cursor.fetchone()[0]


def _measured_lag() -> float | None:
    """The replica's lag, measured on its open transaction at most every
    REPLICA_LAG_CHECK_SECONDS; None when it is not a standby or has replayed nothing."""
    now = time.monotonic()
    with _health.lock:
        if now - _health.lag_measured_at < settings.REPLICA_LAG_CHECK_SECONDS:
            return _health.lag
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(LAG_SQL)
        in_recovery, lag = cursor.fetchone()
    # A promoted former standby no longer follows the primary: never read from it.
    lag = max(lag, 0.0) if in_recovery and lag is not None else None
    with _health.lock:
        _health.lag, _health.lag_measured_at = lag, now
    return lag


@contextmanager
def _replica_transaction() -> Iterator[float | None]:
    with transaction.atomic(using=REPLICA):
        context.apply_to(REPLICA)
        yield _measured_lag()


def _refusal(stack: ExitStack) -> str | None:
    """Why the replica may not serve now ("down" or "lag"); None when it may, its
    transaction then entered on `stack`."""
    if time.monotonic() < _health.down_until:
        return "down"
    try:
        lag = stack.enter_context(_replica_transaction())
    except (OperationalError, InterfaceError) as exc:
        _found_down(exc)
        return "down"
    if lag is None or lag > settings.REPLICA_MAX_LAG_SECONDS:
        stack.close()
        return "lag"
    return None


def _open_route(stack: ExitStack) -> str:
    """The alias for a reporting block's reads; a replica transaction entered on `stack`."""
    if not configured():
        return DEFAULT_DB_ALIAS
    if _primary_wrote():
        _count("wrote")
        return DEFAULT_DB_ALIAS
    refusal = _refusal(stack)
    if refusal is None:
        return REPLICA
    _count(refusal)
    log.warning(
        "Reporting reads fall back to the primary (replica %s; lag %s s, limit %s s).",
        refusal,
        "unknown" if _health.lag is None else f"{_health.lag:.1f}",
        settings.REPLICA_MAX_LAG_SECONDS,
    )
    return DEFAULT_DB_ALIAS


@contextmanager
def reporting_reads() -> Iterator[str]:
    """Route the ORM's reads inside the block (or the decorated function) to the
    replica when it may serve them; yields the alias chosen. Nested blocks keep the
    outer choice. Writes always go to the primary."""
    outer = _route.get()
    if outer is not None:
        yield outer
        return
    with ExitStack() as stack:
        alias = _open_route(stack)
        token = _route.set(alias)
        try:
            yield alias
        except (OperationalError, InterfaceError) as exc:
            # The replica went away mid-block: the next reporting reads skip it.
            if alias == REPLICA:
                _found_down(exc)
            raise
        finally:
            _route.reset(token)


def source_name(alias: str) -> str:
    return "replica" if alias == REPLICA else "primary"


def reporting_view(view):
    """A view (function or method) whose reads are reporting reads; its response says
    where they came from in the X-Read-From header."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with reporting_reads() as alias:
            response = view(*args, **kwargs)
        response[RESPONSE_HEADER] = source_name(alias)
        return response

    return wrapped


def status() -> dict:
    """For /healthz?full=1 and db_report: whether the replica may serve now (checked, not
    counted), its lag as last measured, and this process's reads kept on the primary,
    by reason ("wrote": read-your-writes; "lag"; "down")."""
    if not configured():
        return {"configured": False}
    with ExitStack() as stack:
        refusal = _refusal(stack)
    with _health.lock:
        return {
            "configured": True,
            "state": refusal or "ok",
            "lag_seconds": None if _health.lag is None else round(_health.lag, 3),
            "max_lag_seconds": settings.REPLICA_MAX_LAG_SECONDS,
            "fallbacks": dict(_health.fallbacks),
        }


class ReportingRouter:
    """Reads inside `reporting_reads()` go where it chose; everything else, writes
    included, to the primary, even for rows loaded from the replica (whose connection
    outside a reporting block has no organization context and would show nothing)."""

    def db_for_read(self, model, **hints):
        return _route.get() or DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: relations across the two are the same rows.
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA} or None

    def allow_migrate(self, db, app_label, **hints):
        return False if db == REPLICA else None
