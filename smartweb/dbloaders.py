"""How the application's database connections decode values, where the defaults cost more
than the query: lists decode thousands of values a page (bench/README.md).

- `json`: by orjson. Lists read their related rows as `json` sub-selects
  (smartweb.listing): a page of 50 leads decodes 150 of them, and the standard library's
  `json.loads` took 0.3 ms of that page's 1.8 ms at 1M leads. Only the `json` type:
  Django reads `jsonb` model fields as text and decodes them itself. orjson reads
  integers past 64 bits as floats; the sub-selects hold ids, names and 32-bit numbers.
- `timestamptz`: by psycopg's compiled loader. Django registers a subclass of psycopg's
  pure-Python one, which then replaces each value's zone by the connection's: 2.3 µs a
  value instead of 0.5, on a connection whose zone is already UTC (the project's only
  one), where the compiled loader gives the same value with the same `timezone.utc`.
"""

from __future__ import annotations

import datetime as dt

import orjson
import psycopg
from psycopg.adapt import Loader
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid


class JsonLoader(Loader):
    """`json` in text format (what Django's client-side binding gets), by orjson, which
    reads the buffer as it is where the standard library needs a copy as bytes."""

    def load(self, data):
        return orjson.loads(data)


class UTCTimestamptzLoader(Loader):
    """psycopg's default `timestamptz` loader (compiled, with psycopg's binary package,
    and not subclassable), with the `timezone` attribute Django's backend compares to
    decide whether a cursor needs a loader of its own."""

    timezone = dt.UTC
    compiled = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self.load = self.compiled(oid, context).load  # called as it is, no frame of ours

    def load(self, data):  # replaced per instance; declared for the abstract base
        raise NotImplementedError


def configure(connection) -> None:
    """Decode `json` with orjson on this psycopg connection (`jsonb` loaders untouched)."""
    connection.adapters.register_loader("json", JsonLoader)


def on_connection_created(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    configure(connection.connection)
    # Django has set the session's zone by now; only where both are UTC is the value the
    # compiled loader gives the one Django's loader would.
    if connection.timezone is dt.UTC and connection.connection.info.timezone is dt.UTC:
        connection.connection.adapters.register_loader(TIMESTAMPTZ_OID, UTCTimestamptzLoader)
