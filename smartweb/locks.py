"""Transaction-scoped PostgreSQL advisory locks, for checks that must not run side by
side (a duplicate check and the insert it allows). Released when the transaction ends."""

from __future__ import annotations

from django.db import connection


def advisory_xact_lock(*parts, shared: bool = False) -> None:
    """Wait for, then hold until the transaction ends, the lock named by `parts` (hashed
    to PostgreSQL's 64-bit lock key). Shared holders exclude only exclusive ones."""
    if not connection.in_atomic_block:
        raise RuntimeError("Outside a transaction, an advisory lock is released at once.")
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtextextended(%s, 0))", [":".join(map(str, parts))])
