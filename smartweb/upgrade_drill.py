"""A rehearsal of a major-version upgrade, beside the running server, never on it.

    python -m smartweb.ops upgrade-drill --to 18 [--method pg_upgrade|dump]

`pg_upgrade` (the fast way: minutes whatever the size, as the data files are linked):
  a base backup of the running server (as `backup` takes it) restored into a scratch
  directory and started once, so that it is a consistent, cleanly stopped cluster; a new
  cluster of the target version (initdb with the copy's locale and checksum setting,
  which pg_upgrade requires to match); `pg_upgrade --link` from the copy into it; the
  new server started and its planner statistics rebuilt.

`dump` (the portable way: the downtime grows with the data): the source's own pg_dump
  (as `dump` makes it, read-only, every organization's rows), a new cluster of the
  target version with the roles of smartweb.db_bootstrap, and the dump restored into it
  by the target's pg_restore in one transaction (as `restore FILE` does).

Both end with the checks `verify` makes (migrations, roles, forced row level security)
on the upgraded server and every table's row count compared with the source's. Each step
is timed: the figures say how long the real upgrade keeps the application down.
Everything is removed afterwards.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from smartweb import backups, clusters, recovery
from smartweb.db_bootstrap import DATABASE_NAME, bootstrap
from smartweb.ops import OpsError, dump, program, restore, server_major_version

# pg_upgrade starts both servers on a socket in its working directory (private to the
# cluster's system user) and connects as their bootstrap superuser; nothing else can
# reach them while it runs. TCP keeps the password logins the checks use.
UPGRADE_HBA = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"


@dataclass
class Rehearsal:
    from_major: int
    to_major: int
    method: str
    seconds: dict[str, float] = field(default_factory=dict)
    before: recovery.Verification | None = None
    after: recovery.Verification | None = None
    problems: list[str] = field(default_factory=list)
    started: list[clusters.Cluster] = field(default_factory=list)  # stopped at the end


@contextmanager
def _timed(seconds: dict[str, float], step: str) -> Iterator[None]:
    began = time.monotonic()
    try:
        yield
    finally:
        seconds[step] = time.monotonic() - began


def _errors(log: Path) -> str:
    """The lines of a log that report an error, with the two before each."""
    lines = log.read_text(errors="replace").splitlines()
    return "\n".join(
        "\n".join(lines[max(0, i - 2) : i + 1])
        for i, line in enumerate(lines)
        if "error" in line.lower()
    )


def _run_as(user: str | None, command: list[str], cwd: Path, logs: Path | None = None) -> None:
    """Run `command`; on failure the error carries its output and the errors of the log
    files under `logs` (pg_upgrade's, which the scratch directory's removal would lose)."""
    done = subprocess.run(command, capture_output=True, text=True, user=user, cwd=cwd)
    if done.returncode != 0:
        ends = [
            f"--- {log.name}\n{_errors(log)}"
            for log in sorted(logs.rglob("*.log") if logs else [])
            if _errors(log)
        ]
        raise OpsError(
            f"{Path(command[0]).name} failed:\n{done.stdout[-3000:]}{done.stderr}\n"
            + "\n".join(ends)
        )


def _analyze_command(new: clusters.Cluster, socket_dir: Path) -> list[str]:
    """Planner statistics for every database: without them the first queries after the
    upgrade plan blind. From PostgreSQL 18 pg_upgrade keeps them; only the missing ones
    (extended statistics) are computed."""
    command = [program("vacuumdb", new.major), "--all", "--analyze-in-stages"]
    if new.major >= 18:
        command.append("--missing-stats-only")
    return [*command, f"--host={socket_dir}", f"--port={new.port}", "--username=postgres"]


def _initdb_options(url: str, to_major: int) -> list[str]:
    """The locale and checksum setting of the source, which the new cluster must share."""
    with psycopg.connect(url) as conn:
        collate, ctype = conn.execute(
            "SELECT datcollate, datctype FROM pg_database WHERE datname = 'template0'"
        ).fetchone()
        checksums = conn.execute("SHOW data_checksums").fetchone()[0] == "on"
    options = [f"--lc-collate={collate}", f"--lc-ctype={ctype}"]
    if checksums:
        options.append("--data-checksums")
    elif to_major >= 18:  # checksums became initdb's default
        options.append("--no-data-checksums")
    return options


def _consistent_copy(url: str, scratch: Path, seconds: dict[str, float]) -> clusters.Cluster:
    """The running server, base-backed-up and restored to the backup's end: a cluster of
    its own, started once until it accepts writes (on a socket in `scratch` too)."""
    with _timed(seconds, "base backup"):
        backups.take(url, scratch)
    with _timed(seconds, "copy restored"):
        copy = recovery.restore(None, scratch / "old", scratch)
        (copy.datadir / "pg_hba.conf").write_text(UPGRADE_HBA)
        copy.start(socket_dir=scratch)
        copy.wait_until_promoted(clusters.with_address(url, copy.port))
    return copy


def _by_pg_upgrade(url: str, to_major: int, scratch: Path, rehearsal: Rehearsal) -> str:
    """The upgraded cluster's URL for the role of `url`."""
    seconds, created = rehearsal.seconds, rehearsal.started
    old = _consistent_copy(url, scratch, seconds)
    created.append(old)
    options = _initdb_options(clusters.with_address(url, old.port), to_major)
    old.stop()
    with _timed(seconds, "initdb"):
        new = clusters.initdb(scratch / "new", to_major, "unused", old.user, options)
        created.append(new)
        (new.datadir / "pg_hba.conf").write_text(UPGRADE_HBA)
    with _timed(seconds, "pg_upgrade --link"):
        _run_as(
            old.user,
            [
                program("pg_upgrade", to_major),
                f"--old-bindir={Path(program('postgres', old.major)).parent}",
                f"--new-bindir={Path(program('postgres', to_major)).parent}",
                f"--old-datadir={old.datadir}",
                f"--new-datadir={new.datadir}",
                f"--socketdir={scratch}",
                "--username=postgres",
                "--link",
            ],
            cwd=scratch,
            logs=new.datadir / "pg_upgrade_output.d",
        )
    with _timed(seconds, "new server started and analyzed"):
        new.start(socket_dir=scratch)
        _run_as(new.user, _analyze_command(new, scratch), cwd=scratch)
    return clusters.with_address(url, new.port)


def _by_dump(url: str, to_major: int, scratch: Path, rehearsal: Rehearsal) -> str:
    """The upgraded cluster's URL for the backup role."""
    seconds = rehearsal.seconds
    dump_file = scratch / "smartweb.dump"
    with _timed(seconds, "pg_dump"):
        dump(url, dump_file)
    password = secrets.token_urlsafe(16)
    with _timed(seconds, "initdb and roles"):
        user = clusters.system_user()
        new = clusters.initdb(scratch / "new", to_major, password, user)
        rehearsal.started.append(new)
        new.start()
        roles = bootstrap(new.url(password))
    with _timed(seconds, "pg_restore"):
        restore(dump_file, roles.owner)
    with (
        _timed(seconds, "analyzed"),
        psycopg.connect(new.url(password, dbname=DATABASE_NAME)) as conn,
    ):
        conn.execute("ANALYZE")
    return roles.backup


METHODS = {"pg_upgrade": _by_pg_upgrade, "dump": _by_dump}


def rehearse(url: str, to_major: int, method: str = "pg_upgrade") -> Rehearsal:
    """`url`: the backup role's (REPLICATION for a base backup, BYPASSRLS for a dump)."""
    from_major = server_major_version(url)
    if to_major <= from_major:
        raise OpsError(f"The server runs PostgreSQL {from_major}: name a newer major version.")
    rehearsal = Rehearsal(from_major, to_major, method)
    rehearsal.before = recovery.Verification(backup=f"PostgreSQL {from_major}")
    recovery.check(url, rehearsal.before)
    scratch = Path(tempfile.mkdtemp(prefix="smartweb-upgrade-"))
    clusters.hand_over(scratch, clusters.system_user())
    try:
        upgraded = METHODS[method](url, to_major, scratch, rehearsal)
        rehearsal.after = recovery.Verification(backup=f"PostgreSQL {to_major}")
        with _timed(rehearsal.seconds, "checks"):
            if server_major_version(upgraded) != to_major:
                rehearsal.problems.append(f"the upgraded server is not PostgreSQL {to_major}")
            recovery.check(upgraded, rehearsal.after)
        rehearsal.problems += rehearsal.before.problems + rehearsal.after.problems
        for table, count in rehearsal.before.rows.items():
            if rehearsal.after.rows.get(table) != count:
                rehearsal.problems.append(
                    f"{table}: {count} rows before, {rehearsal.after.rows.get(table)} after"
                )
        return rehearsal
    finally:
        for cluster in reversed(rehearsal.started):
            cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)
