"""What a database outage looks like from here: the server unreachable, restarting or out
of connections, a connection cut, a statement or lock wait over its time bound. The
client can do nothing but try again a little later, so these answer 503 with
`Retry-After` (smartweb.api.errors for the API, smartweb.error_views for the rest).

A deadlock or a serialization failure is not an outage: the database is up, and chose
this transaction to roll back so that a concurrent one could finish. Nothing of it was
written, and sending the change again will most likely succeed. It answers 409, saying
so (`is_conflict`); `retried_on_conflict` runs a transaction again once first."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator

import psycopg
from django.db import Error, InterfaceError, OperationalError, transaction

RETRY_AFTER_SECONDS = 5

# Django wraps the driver's errors in its own; raw psycopg use raises the driver's.
OUTAGE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)

# SQLSTATE serialization_failure and deadlock_detected: the transaction was rolled back
# for a concurrent one, and may be run again.
CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})
# SQLSTATE unique_violation: most often another transaction committed the same unique
# values first (PostgreSQL waits for it, then refuses the later insert or update).
UNIQUE_VIOLATION_SQLSTATE = "23505"
# SQLSTATE lock_not_available: a row the change needs stayed locked by another transaction
# past the lock timeout. An outage of that change (503, try again later), but the
# database is up: a page says what holds it up, not that the database cannot be reached.
LOCK_TIMEOUT_SQLSTATE = "55P03"

CONFLICT_MESSAGE = (
    "A concurrent change to the same records conflicted with this one, and nothing of it"
    " was saved. Send it again."
)
DUPLICATE_MESSAGE = (
    "Another change saved the same values at the same moment, and nothing of this one was"
    " saved. Check the records, then send it again if it is still needed."
)
LOCK_TIMEOUT_MESSAGE = (
    "The records this needs are held by another change still in progress, and nothing"
    " was saved. Try again in a moment."
)


def _sqlstate(exc: BaseException | None) -> str | None:
    """The SQLSTATE of a database error, as the driver raised it or as Django wraps it."""
    while exc is not None:
        if getattr(exc, "sqlstate", None):
            return exc.sqlstate
        exc = exc.__cause__ if isinstance(exc, (*OUTAGE_ERRORS, Error)) else None
    return None


def is_conflict(exc: BaseException | None) -> bool:
    """A deadlock or serialization failure."""
    return _sqlstate(exc) in CONFLICT_SQLSTATES


def is_lock_timeout(exc: BaseException | None) -> bool:
    """A lock wait over the session's lock timeout: another transaction holds the rows."""
    return _sqlstate(exc) == LOCK_TIMEOUT_SQLSTATE


def is_duplicate(exc: BaseException | None) -> bool:
    """A unique constraint violated."""
    return _sqlstate(exc) == UNIQUE_VIOLATION_SQLSTATE


def _raised_while_handling(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions `exc` was raised from or while handling, nearest first."""
    seen = {id(exc)}
    while (exc := exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc


def is_outage(exc: BaseException | None) -> bool:
    """The database unreachable or the connection lost. Also a database error raised while
    handling one: the clean-up after a lost connection (a rollback, resetting a setting)
    fails in its turn, with an error of the broken transaction or connection (`can't
    execute queries until the end of the atomic block`), whose cause is still the outage.
    An error of the program raised there keeps its own answer (500) and its traceback."""
    if isinstance(exc, OUTAGE_ERRORS):
        return not is_conflict(exc)
    if not isinstance(exc, (Error, psycopg.Error)):
        return False
    return any(
        isinstance(cause, OUTAGE_ERRORS) and not is_conflict(cause)
        for cause in _raised_while_handling(exc)
    )


def retried_on_conflict(function):
    """`function` in a transaction (a savepoint within one) that is rolled back, and run
    once more, when it loses a deadlock or a serialization failure; a second loss is
    raised. Only for functions whose whole work is in that transaction and may run again
    (its on-commit hooks go with the rollback)."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            with transaction.atomic():
                return function(*args, **kwargs)
        except OUTAGE_ERRORS as exc:
            if not is_conflict(exc):
                raise
        with transaction.atomic():
            return function(*args, **kwargs)

    return run


class OutageLogFilter(logging.Filter):
    """An outage logs one line a request, not a traceback: the cause is the database,
    named in the line, and a traceback through the request's code says nothing more (a
    restart under load would otherwise bury the log). So does a conflict between
    concurrent transactions (a deadlock): its cause is named, the database logs both
    sides."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if is_outage(exc) or is_conflict(exc):
            what = "database unavailable" if is_outage(exc) else "concurrent change conflicted"
            cause = " ".join(str(exc).split()) or type(exc).__name__
            record.msg = f"{record.getMessage()} ({what}: {cause})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
