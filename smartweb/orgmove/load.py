"""An exported organization into another database, all or nothing.

Connect as that database's owner role (DATABASE_OWNER_URL) or a superuser. Before it
connects, every file of the export must have the SHA-256 the manifest gives it (the users'
file with their password hashes too), none missing, none added. Then everything runs in
one transaction:
1. refusals, before any write: the applied migrations differ from the manifest's; the
   organization (its id or its slug) is already there; a table's columns differ; a
   referenced content type, permission or group has no counterpart; an exported user's id
   belongs to another email there;
2. the organization's row, then the users the target lacks (matched by email, case
   folded: an existing account is linked, not duplicated, and keeps its own password and
   flags; a new one gets no platform flag), then each tenant table in the manifest's
   order: COPY into a temporary staging table (COPY FROM is refused on a table under row
   level security), references to global rows rewritten to the target's ids, then
   INSERT … SELECT in the organization's context (`set_config(…, true)`), so every row
   passes the policies' WITH CHECK;
3. every table's row count and checksum, computed as the export computed them, must
   match the manifest's, or nothing is committed. Then the exported files go into this
   process's storage (`files`; removed again if the transaction does not commit), and
   one `organization.imported` event in the organization's audit log says where the rows
   came from.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from smartweb.ops import OpsError
from smartweb.orgmove import catalog, files
from smartweb.orgmove.export import FORMAT, MANIFEST, checksums
from smartweb.tenancy.context import ORGANIZATION_SETTING


@dataclass
class Loaded:
    organization: str
    rows: dict[str, int] = field(default_factory=dict)
    users_created: int = 0
    users_linked: int = 0
    files_written: int = 0
    seconds: float = 0.0


def read_manifest(directory: Path) -> dict:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise OpsError(f"{directory / MANIFEST} is not an organization export: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise OpsError(
            f"{directory} holds format {manifest.get('format')!r}, not {FORMAT}: export it"
            " again with this version."
        )
    return manifest


def _changed_files(directory: Path, manifest: dict) -> list[str]:
    """Every file of the export against the manifest's checksums: none changed, none
    missing, none added."""
    expected, found = manifest["checksums"], checksums(directory)
    problems = []
    for name in sorted(expected.keys() | found.keys()):
        if name not in found:
            problems.append(f"{name} is missing")
        elif name not in expected:
            problems.append(f"{name} is not in the manifest")
        elif found[name] != expected[name]:
            problems.append(f"{name} differs from the manifest")
    return problems


def _copy_in(conn: psycopg.Connection, table: str, columns: list[str], path: Path) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with path.open("rb") as source, conn.cursor() as cur, cur.copy(statement) as copy:
        while data := source.read(1 << 20):
            copy.write(data)


def _stage(conn: psycopg.Connection, table: str, columns: list[str], path: Path) -> str:
    """A temporary copy of `table`'s columns (no constraints, no policies) holding the file."""
    stage = f"move_stage_{table}"
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(stage),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.Identifier(table),
        )
    )
    _copy_in(conn, stage, columns, path)
    return stage


def _refusals(conn: psycopg.Connection, manifest: dict) -> list[str]:
    problems = []
    if conn.execute("SELECT to_regclass('django_migrations')").fetchone()[0] is None:
        return [
            "this database has no migration applied: build its schema first"
            " (`DATABASE_URL=<its owner URL> manage.py migrate`)"
        ]
    here = catalog.applied_migrations(conn)
    missing = sorted(set(manifest["migrations"]) - set(here))
    extra = sorted(set(here) - set(manifest["migrations"]))
    if missing or extra:
        problems.append(
            "this database is at another migration state than the export"
            f" (not applied here: {', '.join(missing) or 'none'};"
            f" applied here only: {', '.join(extra) or 'none'}): migrate one side first"
        )
        return problems
    organization = manifest["organization"]
    present = conn.execute(
        "SELECT id, slug FROM accounts_organization WHERE id = %s OR slug = %s",
        [organization["id"], organization["slug"]],
    ).fetchall()
    for row_id, slug in present:
        problems.append(
            f"organization {slug} ({row_id}) is already in this database: "
            "an organization is imported once, into a database that lacks it"
        )
    tables = {t.name: t for t in [catalog.organization_table(conn), *catalog.tenant_tables(conn)]}
    exported = {entry["name"] for entry in manifest["tables"]}
    for name in sorted(set(tables) - exported):
        problems.append(f"table {name} is here but not in the export")
    for entry in manifest["tables"]:
        table = tables.get(entry["name"])
        if table is None or set(table.columns) != set(entry["columns"]):
            problems.append(f"table {entry['name']} has other columns here than in the export")
    return problems


def _map_keys(conn: psycopg.Connection, directory: Path, manifest: dict) -> list[str]:
    """move_map_<global>: exported id -> this database's id, by natural key."""
    problems = []
    for target in manifest["keys"]:
        keys = f"move_keys_{target}"
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT id AS source_id, ''::text AS key"
                " FROM {} WITH NO DATA"
            ).format(sql.Identifier(keys), sql.Identifier(target))
        )
        _copy_in(conn, keys, ["source_id", "key"], directory / f"{target}.keys")
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT k.source_id, k.key,"
                " (SELECT g.id FROM {} g WHERE {} = k.key) AS target_id FROM {} k"
            ).format(
                sql.Identifier(f"move_map_{target}"),
                sql.Identifier(target),
                sql.SQL(catalog.NATURAL_KEYS[target]),
                sql.Identifier(keys),
            )
        )
        if target == catalog.USER_TABLE:
            problems += _user_ids_taken(conn, directory, manifest)
            continue  # the missing ones are created
        unknown = conn.execute(
            sql.SQL("SELECT key FROM {} WHERE target_id IS NULL ORDER BY 1").format(
                sql.Identifier(f"move_map_{target}")
            )
        ).fetchall()
        if unknown:
            problems.append(f"{target} lacks {', '.join(row[0] for row in unknown)}")
    return problems


def _user_ids_taken(conn: psycopg.Connection, directory: Path, manifest: dict) -> list[str]:
    """Stage the exported users; an id this database gives to another email is refused."""
    path = directory / f"{catalog.USER_TABLE}.copy"
    stage = _stage(conn, catalog.USER_TABLE, manifest["users"]["columns"], path)
    taken = conn.execute(
        sql.SQL(
            "SELECT s.email FROM {} s JOIN accounts_user u ON u.id = s.id"
            " WHERE lower(u.email) <> lower(s.email) ORDER BY 1"
        ).format(sql.Identifier(stage))
    ).fetchall()
    if not taken:
        return []
    return [
        "user ids of the export belong to other accounts here: " + ", ".join(r[0] for r in taken)
    ]


def _users(conn: psycopg.Connection, manifest: dict, loaded: Loaded) -> None:
    """Create the staged users this database lacks (by email); map every exported user."""
    if catalog.USER_TABLE not in manifest["keys"]:
        return
    columns = manifest["users"]["columns"]
    stage = f"move_stage_{catalog.USER_TABLE}"
    # The user's other organizations stay behind: a default pointing at one is cleared.
    # Platform flags are the target operator's to grant, not an organization's to carry.
    overrides = {
        "default_organization_id": sql.SQL(
            "CASE WHEN s.default_organization_id = {} THEN s.default_organization_id END"
        ).format(sql.Literal(manifest["organization"]["id"])),
        "is_superuser": sql.SQL("false"),
        "is_staff": sql.SQL("false"),
    }
    values = [
        overrides.get(column, sql.SQL("s.{}").format(sql.Identifier(column))) for column in columns
    ]
    created = conn.execute(
        sql.SQL(
            "INSERT INTO accounts_user ({}) SELECT {} FROM {} s WHERE NOT EXISTS"
            " (SELECT 1 FROM accounts_user u WHERE lower(u.email) = lower(s.email))"
        ).format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(values),
            sql.Identifier(stage),
        )
    ).rowcount
    conn.execute(
        "UPDATE move_map_accounts_user m SET target_id = u.id FROM accounts_user u"
        " WHERE lower(u.email) = m.key"
    )
    loaded.users_created = created
    loaded.users_linked = manifest["keys"][catalog.USER_TABLE] - created


def _insert(conn: psycopg.Connection, directory: Path, entry: dict) -> None:
    stage = _stage(conn, entry["name"], entry["columns"], directory / f"{entry['name']}.copy")
    for column, target in entry["references"].items():
        conn.execute(
            sql.SQL(
                "UPDATE {} s SET {} = m.target_id FROM {} m"
                " WHERE s.{} = m.source_id AND m.target_id <> m.source_id"
            ).format(
                sql.Identifier(stage),
                sql.Identifier(column),
                sql.Identifier(f"move_map_{target}"),
                sql.Identifier(column),
            )
        )
    columns = sql.SQL(", ").join(map(sql.Identifier, entry["columns"]))
    conn.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
            sql.Identifier(entry["name"]), columns, columns, sql.Identifier(stage)
        )
    )
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(stage)))


def _verify(conn: psycopg.Connection, manifest: dict, organization: uuid.UUID) -> list[str]:
    tables = {t.name: t for t in [catalog.organization_table(conn), *catalog.tenant_tables(conn)]}
    problems = []
    for entry in manifest["tables"]:
        table = tables[entry["name"]]
        # Hashed in the export's column order, whatever the order here.
        table.columns = entry["columns"]
        rows, checksum = table.checksum(conn, organization)
        if (rows, checksum) != (entry["rows"], entry["checksum"]):
            problems.append(
                f"{entry['name']}: {rows} rows (checksum {checksum}) here,"
                f" {entry['rows']} ({entry['checksum']}) exported"
            )
    return problems


def _audit(conn: psycopg.Connection, manifest: dict, loaded: Loaded) -> None:
    from accounts.audit import AuditAction

    details = {
        "exported_at": manifest["exported_at"],
        "rows": sum(entry["rows"] for entry in manifest["tables"]),
        "users_created": loaded.users_created,
        "users_linked": loaded.users_linked,
        "files_written": loaded.files_written,
    }
    conn.execute(
        "INSERT INTO audit_logs (id, created_at, organization_id, actor_email, action,"
        " target_type, target_id, user_agent, request_id, details)"
        " VALUES (gen_random_uuid(), now(), %s, '', %s, 'accounts.organization', %s, '', '', %s)",
        [
            manifest["organization"]["id"],
            AuditAction.ORGANIZATION_IMPORTED.value,
            manifest["organization"]["id"],
            Jsonb(details),
        ],
    )


def load(directory: Path, url: str) -> Loaded:
    """Import the export in `directory` into the database at `url`, or refuse."""
    manifest = read_manifest(directory)
    problems = _changed_files(directory, manifest)
    if problems:
        raise OpsError("Import refused, nothing written: " + "; ".join(problems) + ".")
    organization = uuid.UUID(manifest["organization"]["id"])
    loaded = Loaded(manifest["organization"]["slug"])
    started = time.monotonic()
    written: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(catalog.SESSION)
        conn.autocommit = False
        try:
            problems = _refusals(conn, manifest) or _map_keys(conn, directory, manifest)
            if problems:
                raise OpsError("Import refused, nothing written: " + "; ".join(problems) + ".")
            conn.execute(
                "SELECT set_config(%s, %s, true)", [ORGANIZATION_SETTING, str(organization)]
            )
            organization_row, *entries = manifest["tables"]  # the export writes it first
            name = organization_row["name"]
            _copy_in(conn, name, organization_row["columns"], directory / f"{name}.copy")
            loaded.rows[name] = organization_row["rows"]
            _users(conn, manifest, loaded)
            for entry in entries:
                _insert(conn, directory, entry)
                loaded.rows[entry["name"]] = entry["rows"]
            problems = _verify(conn, manifest, organization)
            if problems:
                raise OpsError("Import rolled back, the copy differs: " + "; ".join(problems))
            written = files.load_files(directory, manifest)
            loaded.files_written = len(written)
            _audit(conn, manifest, loaded)
            conn.commit()
        except (psycopg.Error, OSError) as exc:  # a refused row, a missing or unreadable file
            conn.rollback()
            files.remove_files(written)
            raise OpsError(f"Import rolled back: {exc}") from exc
        except BaseException:
            conn.rollback()
            files.remove_files(written)
            raise
    loaded.seconds = round(time.monotonic() - started, 2)
    return loaded
