"""Connection URLs of the benchmark databases, derived from the project's two roles.

`.venv/bin/python -m smartweb.devdb run -- …` sets DATABASE_URL (the runtime role) and
DATABASE_OWNER_URL (the owner role); a benchmark database is the same server with
another database name, created and migrated by the owner role.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from smartweb.db_bootstrap import with_database

BASE_DIR = Path(__file__).resolve().parent.parent
SCALES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def database_name(scale: str) -> str:
    return f"smartweb_bench_{scale}"


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(
            f"{name} is not set: run through"
            " `.venv/bin/python -m smartweb.devdb run -- …` (or make bench)."
        )
    return value


def owner_url(dbname: str) -> str:
    return with_database(_required("DATABASE_OWNER_URL"), dbname)


def runtime_url(dbname: str) -> str:
    return with_database(_required("DATABASE_URL"), dbname)


def backup_url(dbname: str) -> str:
    return with_database(_required("DATABASE_BACKUP_URL"), dbname)


def django_env(url: str) -> dict[str, str]:
    """Environment for a Django process against `url` (bench only: a fixed secret key)."""
    env = dict(os.environ, DATABASE_URL=url)
    env.setdefault("SECRET_KEY", "bench-only-secret-key-not-used-anywhere-else-0123456789")
    return env


def admin_url() -> str:
    """The owner role's own database: where it creates and drops the others."""
    return owner_url(urlsplit(_required("DATABASE_OWNER_URL")).path.lstrip("/"))


def drop(dbname: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def recreate_empty(dbname: str) -> None:
    """Drop and create the database as the owner role."""
    drop(dbname)
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def recreate(dbname: str) -> None:
    """Drop and create the database as the owner role, then migrate it as the owner."""
    recreate_empty(dbname)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=BASE_DIR,
        env=django_env(owner_url(dbname)),
        check=True,
    )


def generated(dbname: str) -> bool:
    """Whether the database exists and its generation finished (it leaves a comment)."""
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [dbname],
        ).fetchone()
    return bool(row and row[0])
