"""Transaction-scoped PostgreSQL advisory locks, for checks that must not run side by
side (a duplicate check and the insert it allows), or for work one transaction at a time
does (a webhook endpoint's deliveries). Released when the transaction ends."""

from __future__ import annotations

import psycopg
from django.db import OperationalError, connection, transaction


def advisory_xact_lock(*parts, shared: bool = False) -> None:
    """Wait for, then hold until the transaction ends, the lock named by `parts` (hashed
    to PostgreSQL's 64-bit lock key). Shared holders exclude only exclusive ones."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    _call(function, parts)


def try_advisory_xact_lock(*parts) -> bool:
    """Take the lock named by `parts` if no one holds it, and hold it until the
    transaction ends; False at once, without it, when another transaction holds it."""
    return _call("pg_try_advisory_xact_lock", parts)


def _call(function: str, parts) -> object:
    if not connection.in_atomic_block:
        raise RuntimeError("Outside a transaction, an advisory lock is released at once.")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtextextended(%s, 0))", [":".join(map(str, parts))])
        return cursor.fetchone()[0]


def advisory_xact_lock_within_timeout(*parts) -> bool:
    """`advisory_xact_lock`, but a wait over the session's lock timeout answers False
    (the transaction goes on, without the lock) instead of failing the transaction."""
    try:
        with transaction.atomic():  # a savepoint, to go on after the timeout
            advisory_xact_lock(*parts)
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            return False
        raise
    return True
