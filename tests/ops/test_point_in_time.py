"""The restore drill: rows written, a moment noted, more rows written and a table
dropped; the archive restores into a new cluster at that moment with exactly the first
rows, row level security still forced and the runtime role still unable to bypass it.
And the refusals: a moment the archive cannot offer, a directory that is not empty."""

from __future__ import annotations

import shlex
import subprocess
import tempfile
import time
import uuid
from datetime import UTC
from pathlib import Path

import psycopg
import pytest

from smartweb import backups, clusters, ops, recovery
from tests.ops.tenant_rows import NEW_ORGANIZATION, add_teams, team_names


def test_a_restore_to_a_noted_moment_finds_exactly_the_rows_written_before_it(
    archiving_server,
):
    server = archiving_server
    acme, bravo = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(server.admin) as conn:
        for organization, name in ((acme, "drill-acme"), (bravo, "drill-bravo")):
            conn.execute(NEW_ORGANIZATION, {"id": organization, "name": name})
    add_teams(server.roles.runtime, acme, "north", "south", "west")
    add_teams(server.roles.runtime, bravo, "bravo-only")
    with psycopg.connect(server.admin) as conn:
        noted = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    time.sleep(0.1)
    add_teams(server.roles.runtime, acme, "written-after")
    with psycopg.connect(server.admin, autocommit=True) as conn:
        conn.execute("DROP TABLE accounts_team CASCADE")
    server.switch_wal()

    restored = server.restore(noted, "at-noted-moment")

    runtime = clusters.with_address(server.roles.runtime, restored.port)
    assert team_names(runtime, acme) == ["north", "south", "west"]
    assert team_names(runtime, bravo) == ["bravo-only"]
    assert team_names(runtime, None) == []  # no context, no rows
    with psycopg.connect(runtime) as conn:
        conn.execute("SET row_security = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("SELECT count(*) FROM accounts_team")
    verification = recovery.Verification(backup="drill")
    recovery.check(clusters.with_address(server.roles.backup, restored.port), verification)
    assert verification.problems == []
    assert verification.rows["accounts_team"] == 4


def test_a_moment_outside_the_archive_is_refused_with_the_range_it_offers(archiving_server, capsys):
    server = archiving_server
    (backup,) = backups.listed(server.backup_dir)
    before = backup.started_at.isoformat()

    assert (
        ops.main(
            [
                "restore",
                "--to",
                before,
                "--into",
                str(server.scratch / "too-early"),
                "--backup-dir",
                str(server.backup_dir),
            ]
        )
        == 1
    )

    refusal = capsys.readouterr().err
    assert "outside the archived range" in refusal
    earliest = backup.finished_at.astimezone(UTC).isoformat()
    assert f"backup {backup.label}: {earliest} to " in refusal
    assert not (server.scratch / "too-early").exists()


def test_a_restore_never_writes_into_a_directory_that_is_not_empty(archiving_server, capsys):
    server = archiving_server
    occupied = server.scratch / "occupied"
    occupied.mkdir()
    (occupied / "PG_VERSION").write_text("keep me")
    (backup,) = backups.listed(server.backup_dir)

    code = ops.main(
        [
            "restore",
            "--to",
            backup.finished_at.isoformat(),
            "--into",
            str(occupied),
            "--backup-dir",
            str(server.backup_dir),
        ]
    )

    assert code == 1
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in occupied.iterdir()] == ["PG_VERSION"]


def test_the_start_and_stop_lines_a_restore_prints_work_as_printed(archiving_server, capsys):
    """Run as root, the restored cluster belongs to another system user, and the PATH's
    pg_ctl may be another major version's: the lines printed are the ones that work."""
    server = archiving_server
    with psycopg.connect(server.admin) as conn:
        noted = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    with psycopg.connect(server.admin) as conn:  # a commit after the moment, leaving nothing
        conn.execute("CREATE TABLE written_after_the_moment ()")
        conn.execute("DROP TABLE written_after_the_moment")
    server.switch_wal()
    into = server.scratch / "started-by-hand"
    restore = ["restore", "--to", noted.isoformat(), "--into", str(into)]

    assert ops.main([*restore, "--backup-dir", str(server.backup_dir)]) == 0

    printed = dict(
        line.split(": ", 1) for line in capsys.readouterr().out.splitlines() if ": " in line
    )
    start = next(line for label, line in printed.items() if label.startswith("Start it"))
    try:
        subprocess.run(shlex.split(start), check=True, capture_output=True)
        assert (into / "postmaster.pid").exists()
        subprocess.run(shlex.split(printed["Stop it"]), check=True, capture_output=True)
        assert not (into / "postmaster.pid").exists()
    finally:
        major = ops.server_major_version(server.admin)
        clusters.Cluster(into, major, 0, clusters.system_user(into)).stop()


def test_verify_restores_the_latest_backup_checks_it_and_removes_it(archiving_server, capsys):
    server = archiving_server
    scratch_before = set(Path(tempfile.gettempdir()).glob("smartweb-verify-*"))
    code = ops.main(
        ["verify", "--database", server.roles.backup, "--backup-dir", str(server.backup_dir)]
    )

    report = capsys.readouterr().out
    assert code == 0, report
    assert "tenant tables with forced row level security" in report
    assert report.strip().endswith("OK")
    assert set(Path(tempfile.gettempdir()).glob("smartweb-verify-*")) == scratch_before


def test_backups_lists_age_size_and_the_wal_range(archiving_server, capsys):
    server = archiving_server
    assert ops.main(["backups", "--backup-dir", str(server.backup_dir)]) == 0
    (backup,) = backups.listed(server.backup_dir)
    listing = capsys.readouterr().out
    assert backup.label in listing and "MB" in listing
    assert f"{backup.start_wal}.." in listing


@pytest.mark.parametrize("existing", [None, b"same", b"different"])
def test_the_archive_command_never_overwrites_a_different_segment(tmp_path, existing):
    (tmp_path / "pg_wal").mkdir()
    (tmp_path / "pg_wal" / "000000010000000000000007").write_bytes(b"same")
    archive = tmp_path / "wal 100%"
    archive.mkdir()
    if existing:
        (archive / "000000010000000000000007").write_bytes(existing)
    command = (
        backups.archive_command(archive)
        .replace("%p", "pg_wal/000000010000000000000007")
        .replace("%f", "000000010000000000000007")
        .replace("%%", "%")
    )

    done = subprocess.run(["sh", "-c", command], cwd=tmp_path)

    assert (done.returncode == 0) == (existing != b"different")
    assert (archive / "000000010000000000000007").read_bytes() == (existing or b"same")
    assert not list(archive.glob("*.part"))


def test_a_failing_archive_command_shows_in_the_health_report_within_a_minute(archiving_server):
    """Last in the module: the server stops archiving."""
    server = archiving_server
    with psycopg.connect(server.admin, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET archive_command = 'false'")
        conn.execute("SELECT pg_reload_conf()")
        time.sleep(1)
        conn.execute("CREATE TABLE archive_probe (n int)")  # a segment to archive
        conn.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 60
        with conn.cursor() as cursor:
            while not (report := backups.health(cursor, server.backup_dir, 26))["archiving"][
                "failing"
            ]:
                assert time.monotonic() < deadline, report
                time.sleep(1)

    assert report["status"] == "degraded"
    assert report["archiving"]["failed_count"] >= 1
    assert any("archive_command failing" in problem for problem in report["problems"])
