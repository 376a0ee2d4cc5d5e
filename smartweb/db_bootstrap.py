"""Create the database and the two roles the application needs.

Run with a superuser (or CREATEROLE + CREATEDB) connection URL:

    python -m smartweb.db_bootstrap postgresql://postgres@host:5432/postgres

It is idempotent. It creates
- the owner role (LOGIN, CREATEDB for the test database, no SUPERUSER, no BYPASSRLS):
  runs `manage.py migrate` and owns every table;
- the runtime role (LOGIN, nothing else): the application connects as it, so Row Level
  Security applies to every query it runs;
- the database, owned by the owner role, with the extensions the schema needs
  (created here because some of them need a superuser);
- the search role (NOLOGIN, BYPASSRLS): it only owns the SECURITY DEFINER search
  functions, which filter by the context's organization themselves (see
  docs/decisions/0004-search-under-rls.md). The owner role is made a member so that its
  migration can hand those functions to it; the runtime role never is;
- the backup role (LOGIN, BYPASSRLS, REPLICATION, read-only): `python -m smartweb.ops
  dump` and `backup` connect as it, so a dump holds every organization's rows (the
  owner is under FORCEd RLS and dumps none). Its SELECT grants, present and future,
  come from a migration;
- `pg_read_all_stats` for the runtime role, so that `manage.py db_report` can read the
  statements of every role in pg_stat_statements.

It prints (or writes, with --env-file) the connection URLs. Passwords are generated
once and kept in var/db-roles.json so that a second run changes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
SECRETS_FILE = BASE_DIR / "var" / "db-roles.json"
OWNER_ROLE = os.environ.get("DATABASE_OWNER_ROLE", "smartweb_owner")
RUNTIME_ROLE = os.environ.get("DATABASE_RUNTIME_ROLE", "smartweb_app")
SEARCH_ROLE = os.environ.get("DATABASE_SEARCH_ROLE", "smartweb_search")
BACKUP_ROLE = os.environ.get("DATABASE_BACKUP_ROLE", "smartweb_backup")
DATABASE_NAME = os.environ.get("SMARTWEB_DATABASE_NAME", "smartweb")
EXTENSIONS = ("pg_trgm", "btree_gin", "pg_stat_statements")


@dataclass(frozen=True)
class RoleURLs:
    owner: str
    runtime: str
    backup: str


def _passwords() -> dict[str, str]:
    stored = json.loads(SECRETS_FILE.read_text()) if SECRETS_FILE.exists() else {}
    changed = False
    for role in (OWNER_ROLE, RUNTIME_ROLE, BACKUP_ROLE):
        if role not in stored:
            stored[role] = secrets.token_urlsafe(24)
            changed = True
    if changed:
        SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
        SECRETS_FILE.write_text(json.dumps(stored, indent=2))
        SECRETS_FILE.chmod(0o600)
    return stored


def with_credentials(admin_url: str, user: str, password: str, dbname: str) -> str:
    parts = urlsplit(admin_url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{quote(user)}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, "/" + dbname, parts.query, parts.fragment))


def _ensure_role(cur, role: str, password: str, *, createdb: bool) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    verb = "ALTER" if cur.fetchone() else "CREATE"
    attrs = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE " + (
        "CREATEDB" if createdb else "NOCREATEDB"
    )
    cur.execute(
        sql.SQL(verb + " ROLE {} WITH " + attrs + " PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)
        )
    )


def _ensure_backup_role(cur, password: str) -> None:
    """Reads everything, writes nothing: BYPASSRLS to see every organization's rows,
    read-only transactions by default, and only SELECT grants (smartweb/migrations).
    REPLICATION (when this connection may grant it) for base backups (pg_basebackup)."""
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [BACKUP_ROLE])
    verb = "ALTER" if cur.fetchone() else "CREATE"
    cur.execute("SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user")
    replication = " REPLICATION" if cur.fetchone()[0] else ""
    cur.execute(
        sql.SQL(
            verb + " ROLE {} WITH LOGIN BYPASSRLS" + replication + " NOSUPERUSER NOCREATEDB"
            " NOCREATEROLE NOINHERIT PASSWORD {}"
        ).format(sql.Identifier(BACKUP_ROLE), sql.Literal(password))
    )
    cur.execute(
        sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(
            sql.Identifier(BACKUP_ROLE)
        )
    )


def _ensure_search_role(cur) -> None:
    # Statements only when something is missing: concurrent bootstraps (parallel test
    # runs) would otherwise race on the same catalog rows.
    cur.execute(
        "SELECT rolcanlogin, rolbypassrls, pg_has_role(%s, oid, 'MEMBER')"
        " FROM pg_roles WHERE rolname = %s",
        [OWNER_ROLE, SEARCH_ROLE],
    )
    row = cur.fetchone()
    if row is None or row[:2] != (False, True):
        verb = "ALTER" if row else "CREATE"
        cur.execute(
            sql.SQL(
                verb
                + " ROLE {} WITH NOLOGIN NOINHERIT BYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE"
            ).format(sql.Identifier(SEARCH_ROLE))
        )
    if row is None or not row[2]:
        cur.execute(
            sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(SEARCH_ROLE), sql.Identifier(OWNER_ROLE)
            )
        )


def _grant_statistics(cur) -> None:
    cur.execute("SELECT pg_has_role(%s, 'pg_read_all_stats', 'MEMBER')", [RUNTIME_ROLE])
    if not cur.fetchone()[0]:
        cur.execute(sql.SQL("GRANT pg_read_all_stats TO {}").format(sql.Identifier(RUNTIME_ROLE)))


def bootstrap(admin_url: str) -> RoleURLs:
    """Create roles, database and extensions; return the owner and runtime URLs."""
    with psycopg.connect(admin_url, autocommit=True) as conn, conn.cursor() as cur:
        # One bootstrap at a time per server, until this connection closes: processes that
        # start together (the web server and a worker, two test runs) would otherwise
        # alter the same roles at once ("tuple concurrently updated"), each with the
        # passwords it read before the other wrote them.
        cur.execute("SELECT pg_advisory_lock(hashtextextended('smartweb.db_bootstrap', 0))")
        passwords = _passwords()
        _ensure_role(cur, OWNER_ROLE, passwords[OWNER_ROLE], createdb=True)
        _ensure_role(cur, RUNTIME_ROLE, passwords[RUNTIME_ROLE], createdb=False)
        _ensure_backup_role(cur, passwords[BACKUP_ROLE])
        _ensure_search_role(cur)
        _grant_statistics(cur)
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if not cur.fetchone():
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE_NAME), sql.Identifier(OWNER_ROLE)
                )
            )
        # template1 too, so the test database the owner creates has the extensions.
        for dbname in (DATABASE_NAME, "template1"):
            with (
                psycopg.connect(with_database(admin_url, dbname), autocommit=True) as db,
                db.cursor() as db_cur,
            ):
                for extension in EXTENSIONS:
                    db_cur.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                            sql.Identifier(extension)
                        )
                    )
    return RoleURLs(
        owner=with_credentials(admin_url, OWNER_ROLE, passwords[OWNER_ROLE], DATABASE_NAME),
        runtime=with_credentials(admin_url, RUNTIME_ROLE, passwords[RUNTIME_ROLE], DATABASE_NAME),
        backup=with_credentials(admin_url, BACKUP_ROLE, passwords[BACKUP_ROLE], DATABASE_NAME),
    )


def with_database(admin_url: str, dbname: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def is_superuser(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT rolsuper OR (rolcreaterole AND rolcreatedb) FROM pg_roles"
            " WHERE rolname = current_user"
        ).fetchone()
        return bool(row and row[0])


def env_lines(urls: RoleURLs) -> str:
    return (
        f"DATABASE_URL={urls.runtime}\n"
        f"DATABASE_OWNER_URL={urls.owner}\n"
        f"DATABASE_RUNTIME_ROLE={RUNTIME_ROLE}\n"
        f"DATABASE_BACKUP_URL={urls.backup}\n"
        f"DATABASE_BACKUP_ROLE={BACKUP_ROLE}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("admin_url", help="superuser connection URL of the server")
    parser.add_argument("--env-file", help="write DATABASE_URL and DATABASE_OWNER_URL here")
    args = parser.parse_args(argv)
    urls = bootstrap(args.admin_url)
    if args.env_file:
        Path(args.env_file).write_text(env_lines(urls))
    else:
        sys.stdout.write(env_lines(urls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
