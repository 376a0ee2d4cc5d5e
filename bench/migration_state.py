"""Whether a benchmark database is at this code's migration state.

A database generated before a migration landed (or on another branch) lacks its indexes,
columns or functions, or has others: its figures would be of other code. The runner
refuses it with what differs and the command that regenerates it.
"""

from __future__ import annotations

import psycopg


def code_migrations() -> set[tuple[str, str]]:
    """Every migration of the code's graph, as (app, name); Django set up."""
    from django.db.migrations.loader import MigrationLoader

    return set(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def applied_migrations(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('django_migrations') IS NOT NULL").fetchone()
        if not exists[0]:
            return set()
        return {tuple(row) for row in conn.execute("SELECT app, name FROM django_migrations")}


def _names(migrations: set[tuple[str, str]], most: int = 5) -> str:
    listed = [f"{app}.{name}" for app, name in sorted(migrations)]
    more = f" and {len(listed) - most} more" if len(listed) > most else ""
    return ", ".join(listed[:most]) + more


def difference(code: set, applied: set) -> str:
    """What differs, in words; "" when the database is at the code's state."""
    parts = []
    if missing := code - applied:
        parts.append(f"{len(missing)} migration(s) of this code not applied ({_names(missing)})")
    if unknown := applied - code:
        parts.append(f"{len(unknown)} applied migration(s) this code lacks ({_names(unknown)})")
    return "; ".join(parts)


def refuse_other_state(url: str, dbname: str, scale: str) -> None:
    """SystemExit with a clear message unless `dbname` is at the code's migration state."""
    differs = difference(code_migrations(), applied_migrations(url))
    if differs:
        raise SystemExit(
            f"{dbname} is at another migration state than this code: {differs}.\n"
            "Its figures would not be this code's. Generate it again (drops it first):\n"
            "  .venv/bin/python -m smartweb.devdb run --"
            f" .venv/bin/python -m bench.generate --scale {scale}"
        )
