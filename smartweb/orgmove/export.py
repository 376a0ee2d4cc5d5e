"""Every row of one organization into a directory, in one snapshot.

Connect as the backup role (DATABASE_BACKUP_URL): BYPASSRLS and read-only, it reads any
organization's rows by filtering on `organization_id`, and writes nothing. Any other role
is refused before anything is written (`ops.refuse_reading_under_rls`): the owner and the
runtime role read under row level security and would export an empty organization. The directory
holds, per tenant table in load order, `<table>.copy` (COPY's text format); the
organization's row; the rows of every user its rows reference (members, authors of history
and audit entries); `<global>.keys` (id and natural key of each referenced global row);
the files its attachment rows name, under `files/` (`files`); and manifest.json with the
applied migrations, per-table row counts and checksums, and the SHA-256 of every file of
the directory (`checksums`, verified first by the import). Nothing is left at the target
directory unless the export completes: it is written beside it, then renamed.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from smartweb import ops
from smartweb.ops import OpsError
from smartweb.orgmove import catalog, files

FORMAT = "smartweb-organization/2"
MANIFEST = "manifest.json"


def _copy_out(conn: psycopg.Connection, query: sql.Composable, path: Path) -> None:
    statement = sql.SQL("COPY ({}) TO STDOUT").format(query)
    with path.open("wb") as out, conn.cursor() as cur, cur.copy(statement) as copy:
        for data in copy:
            out.write(data)


def _referenced(
    tables: list[catalog.Table], target: str, organization: uuid.UUID
) -> sql.Composed | None:
    """The ids of `target`'s rows that the organization's rows reference (None: no column
    refers to it)."""
    selects = [
        sql.SQL("SELECT t.{} FROM {} t WHERE {}").format(
            sql.Identifier(column), sql.Identifier(table.name), table.where(organization)
        )
        for table in tables
        for column, referenced in table.references.items()
        if referenced == target
    ]
    return sql.SQL(" UNION ").join(selects) if selects else None


def export(url: str, id_or_slug: str, into: Path) -> dict:
    """Write the organization into `into` (new or empty); return the manifest. Nothing is
    left at `into` unless the export is complete."""
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise OpsError(f"{into} exists and is not empty: export into a new directory.")
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(catalog.SESSION)
        ops.refuse_reading_under_rls(conn)
        conn.autocommit = False
        # One snapshot: rows added while the export runs are all in or all out.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        organization, slug, name = catalog.find_organization(conn, id_or_slug)
        with ops.replaced_on_success(into, directory=True) as partial:
            manifest = _write(conn, organization, slug, name, partial)
            conn.rollback()
            manifest["checksums"] = checksums(partial)
            manifest["seconds"] = round(time.monotonic() - started, 2)
            (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def checksums(directory: Path) -> dict[str, str]:
    """The SHA-256 of every file of an export but its manifest, by path in it."""
    return {
        path.relative_to(directory).as_posix(): files.sha256_of_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path != directory / MANIFEST
    }


def _write(
    conn: psycopg.Connection, organization: uuid.UUID, slug: str, name: str, into: Path
) -> dict:
    tables = catalog.tenant_tables(conn)
    manifest: dict = {
        "format": FORMAT,
        "organization": {"id": str(organization), "slug": slug, "name": name},
        "exported_at": datetime.now(UTC).isoformat(),
        "server_version": conn.info.server_version,
        "migrations": catalog.applied_migrations(conn),
        "tables": [],
    }
    for table in [catalog.organization_table(conn), *tables]:
        _copy_out(conn, table.select(organization), into / f"{table.name}.copy")
        rows, checksum = table.checksum(conn, organization)
        manifest["tables"].append(
            {
                "name": table.name,
                "columns": table.columns,
                "references": table.references,
                "rows": rows,
                "checksum": checksum,
            }
        )
    manifest["keys"] = {}
    for target, natural_key in catalog.NATURAL_KEYS.items():
        ids = _referenced(tables, target, organization)
        if ids is None:
            continue
        keyed = sql.SQL("SELECT g.id, {} FROM {} g WHERE g.id IN ({}) ORDER BY 1").format(
            sql.SQL(natural_key), sql.Identifier(target), ids
        )
        _copy_out(conn, keyed, into / f"{target}.keys")
        manifest["keys"][target] = conn.execute(
            sql.SQL("SELECT count(*) FROM ({}) k").format(keyed)
        ).fetchone()[0]
    users = catalog.user_columns(conn)
    user_ids = _referenced(tables, catalog.USER_TABLE, organization)
    if user_ids is not None:
        _copy_out(
            conn,
            sql.SQL("SELECT {} FROM {} g WHERE g.id IN ({}) ORDER BY g.id").format(
                sql.SQL(", ").join(map(sql.Identifier, users)),
                sql.Identifier(catalog.USER_TABLE),
                user_ids,
            ),
            into / f"{catalog.USER_TABLE}.copy",
        )
    manifest["users"] = {"columns": users, "rows": manifest["keys"].get(catalog.USER_TABLE, 0)}
    manifest["files"] = files.export_files(conn, organization, into)
    return manifest
