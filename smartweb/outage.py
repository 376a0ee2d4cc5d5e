"""What a database outage looks like from here: the server unreachable, restarting or out
of connections, a connection cut, a statement or lock wait over its time bound. The
client can do nothing but try again a little later, so these answer 503 with
`Retry-After` (smartweb.api.errors for the API, smartweb.error_views for the rest)."""

from __future__ import annotations

import logging

import psycopg
from django.db import InterfaceError, OperationalError

RETRY_AFTER_SECONDS = 5

# Django wraps the driver's errors in its own; raw psycopg use raises the driver's.
OUTAGE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def is_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, OUTAGE_ERRORS)


class OutageLogFilter(logging.Filter):
    """An outage logs one line a request, not a traceback: the cause is the database,
    named in the line, and a traceback through the request's code says nothing more (a
    restart under load would otherwise bury the log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if is_outage(exc):
            cause = " ".join(str(exc).split()) or type(exc).__name__
            record.msg = f"{record.getMessage()} (database unavailable: {cause})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
