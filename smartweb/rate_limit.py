"""Fixed-window rate limits counted in the database, so that every worker process (and
every server) sees the same counts; the process-local cache would not.

`hit(scope, value, limit=, window=)` counts one hit in the current window of the bucket
(`scope`, `value`) with one atomic upsert and answers how long to wait when the count
is over `limit`. The bucket is stored as a SHA-256 digest: the table holds no addresses.
The row stays locked until the caller's transaction ends, so hits of one bucket are
counted one after the other, never lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from django.db import connection
from django.utils import timezone

from smartweb.models import RateWindow

# The longest window a limit may use; windows older than that are deleted as hits come.
MAX_WINDOW_SECONDS = 24 * 3600
_TABLE = RateWindow._meta.db_table
_HIT = f"""
INSERT INTO {_TABLE} (bucket, window_start, hits) VALUES (%s, %s, 1)
ON CONFLICT (bucket, window_start) DO UPDATE SET hits = {_TABLE}.hits + 1
RETURNING hits
"""
# A few ended windows at a time, skipping rows others hold: no waits, no deadlocks.
_PURGE = f"""
DELETE FROM {_TABLE} WHERE id IN (
    SELECT id FROM {_TABLE} WHERE window_start < %s LIMIT 100 FOR UPDATE SKIP LOCKED
)
"""


class RateLimited(Exception):
    """Over the limit: retry after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Rate limited for {retry_after} s.")
        self.retry_after = retry_after


def _bucket(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()


def hit(scope: str, value: str, *, limit: int, window: int) -> None:
    """Count a hit; raise `RateLimited` when the window already holds `limit` hits."""
    if not 0 < window <= MAX_WINDOW_SECONDS:
        raise ValueError(f"A rate-limit window is 1 to {MAX_WINDOW_SECONDS} seconds.")
    now = timezone.now()
    start = int(now.timestamp()) // window * window
    window_start = dt.datetime.fromtimestamp(start, tz=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute(_PURGE, [now - dt.timedelta(seconds=MAX_WINDOW_SECONDS)])
        cursor.execute(_HIT, [_bucket(scope, value), window_start])
        hits = cursor.fetchone()[0]
    if hits > limit:
        raise RateLimited(max(1, math.ceil(start + window - now.timestamp())))
