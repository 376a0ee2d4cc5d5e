"""`json` values decoded by orjson on the application's database connections.

Lists read their related rows as `json` sub-selects (smartweb.listing): a page of 50 leads
decodes 150 values, and the standard library's `json.loads` took 0.3 ms of that page's
1.8 ms at 1M leads (bench/README.md). Only the `json` type is concerned: Django reads
`jsonb` model fields as text and decodes them itself. orjson reads integers past 64 bits
as floats; the sub-selects hold ids, names and 32-bit numbers.
"""

from __future__ import annotations

import orjson
from psycopg.adapt import Loader


class JsonLoader(Loader):
    """`json` in text format (what Django's client-side binding gets), by orjson, which
    reads the buffer as it is where the standard library needs a copy as bytes."""

    def load(self, data):
        return orjson.loads(data)


def configure(connection) -> None:
    """Decode `json` with orjson on this psycopg connection (`jsonb` loaders untouched)."""
    connection.adapters.register_loader("json", JsonLoader)


def on_connection_created(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        configure(connection.connection)
