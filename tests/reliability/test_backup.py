"""A backup holds the data: a dump made with `smartweb.ops` (as the backup role) of the
demo organizations restores into a fresh database with every row of every table, and
the backup role can read everything but change nothing."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from smartweb import ops
from smartweb.db_bootstrap import with_database


def _url(variable: str, database: str) -> str:
    return with_database(os.environ[variable], database)


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in tables
        }


@pytest.fixture
def fresh_database(demo):
    """An empty database created by the owner role, dropped afterwards; its name.

    Dropped without FORCE: after a restore an autovacuum worker is often at work in
    it, and FORCE asks to terminate that worker, which only a superuser may; a plain
    DROP DATABASE makes autovacuum let go by itself."""
    name = f"{settings.DATABASES['default']['NAME']}_restored"
    owner = _url("DATABASE_OWNER_URL", "postgres")
    drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(drop)


def test_a_dump_restores_every_row_of_every_organization(demo, read, fresh_database, tmp_path):
    source = _url("DATABASE_BACKUP_URL", settings.DATABASES["default"]["NAME"])
    before = row_counts(source)
    assert before["leads_lead"] > 0 and before["crm_opportunity"] > 0
    dump_file = tmp_path / "smartweb.dump"

    assert ops.main(["dump", "--into", str(dump_file), "--database", source]) == 0
    restored = _url("DATABASE_OWNER_URL", fresh_database)
    assert ops.main(["restore", str(dump_file), "--database", restored]) == 0

    assert row_counts(_url("DATABASE_BACKUP_URL", fresh_database)) == before


def test_a_restore_into_a_database_that_holds_tables_is_refused_before_it_writes(
    demo, fresh_database, tmp_path, capsys
):
    source = _url("DATABASE_BACKUP_URL", settings.DATABASES["default"]["NAME"])
    dump_file = tmp_path / "smartweb.dump"
    assert ops.main(["dump", "--into", str(dump_file), "--database", source]) == 0
    target = _url("DATABASE_OWNER_URL", fresh_database)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('there before')")
    capsys.readouterr()

    assert ops.main(["restore", str(dump_file), "--database", target]) == 1

    error = capsys.readouterr().err
    assert f"Database {fresh_database} is not empty (1 table: kept)" in error
    assert "nothing was restored" in error
    assert row_counts(target) == {"kept": 1}


@pytest.mark.parametrize("role", ["DATABASE_URL", "DATABASE_OWNER_URL"])
def test_a_failed_dump_keeps_the_previous_one_and_names_the_backup_role(demo, tmp_path, role):
    """The owner (FORCEd RLS) and the runtime role are refused before pg_dump runs; a dump
    that fails leaves the file it would have replaced as it was, and nothing beside it."""
    good = tmp_path / "good.dump"
    good.write_bytes(b"the previous good backup")
    wrong = _url(role, settings.DATABASES["default"]["NAME"])
    assert ops.main(["dump", "--into", str(good), "--database", wrong]) == 1
    assert good.read_bytes() == b"the previous good backup"
    assert sorted(tmp_path.iterdir()) == [good]
    with pytest.raises(ops.OpsError, match="row level security.*DATABASE_BACKUP_URL"):
        ops.dump(wrong, good)


def test_a_dump_that_fails_halfway_leaves_the_previous_one(demo, tmp_path, monkeypatch):
    good = tmp_path / "good.dump"
    good.write_bytes(b"the previous good backup")

    def half_written(command, url):  # pg_dump writing part of the file, then failing
        Path(command[-1].removeprefix("--file=")).write_bytes(b"half a dump")
        raise ops.OpsError("pg_dump failed: connection lost")

    monkeypatch.setattr(ops, "_run", half_written)
    source = _url("DATABASE_BACKUP_URL", settings.DATABASES["default"]["NAME"])
    assert ops.main(["dump", "--into", str(good), "--database", source]) == 1
    assert good.read_bytes() == b"the previous good backup"
    assert sorted(tmp_path.iterdir()) == [good]


def test_the_backup_role_reads_but_never_writes(demo, read):
    source = _url("DATABASE_BACKUP_URL", settings.DATABASES["default"]["NAME"])
    with psycopg.connect(source) as conn:
        organizations = conn.execute("SELECT count(*) FROM accounts_organization").fetchone()[0]
        assert organizations >= 2  # every organization, no context needed
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM leads_lead")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM leads_lead")
