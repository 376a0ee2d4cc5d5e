"""A transaction-mode PgBouncer in front of the project's server (ADR 0023).

`configure` writes pgbouncer.ini and its auth file for the project's roles into a
directory; `Pooler.start` runs PgBouncer on a free port of 127.0.0.1, `stop` ends it.
`python -m smartweb.ops pooler` runs one in the foreground; the tests and the benchmark
start their own. The written pgbouncer.ini is the reference configuration for a
production pooler.

The settings that make pooling safe for the application:
- `pool_mode = transaction`: a server connection serves one client transaction, then
  the next client's. The organization context is transaction-local
  (smartweb.tenancy.context), so it ends with the transaction that set it.
- `connect_query` sets the web bounds (statement, lock wait, idle transaction) and the
  session settings (JIT off) on every server connection PgBouncer opens: it refuses
  libpq's `options`, with which a direct connection sets them (smartweb.database_config).
- No `server_reset_query`: in transaction mode there is no session state to reset, and
  the application sets none (no SET, no session advisory lock, no LISTEN).

PgBouncer refuses to run as root; run as root, it runs as the system user the scratch
clusters use (smartweb.clusters.system_user).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from psycopg.conninfo import conninfo_to_dict

from smartweb import clusters, database_config
from smartweb.ops import OpsError

DEFAULT_PORT = 6432
DEFAULT_POOL_SIZE = 20
MAX_CLIENTS = 500


def executable() -> str | None:
    """The pgbouncer program (Debian's package puts it in /usr/sbin), or None."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def pooled_url(url: str, port: int) -> str:
    """The same role and database as `url`, through the pooler on 127.0.0.1:`port`."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    query = "&".join(item for item in parts.query.split("&") if item and "host=" not in item)
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _connect_query() -> str:
    settings = database_config.session_parameters(database_config.timeouts("web"))
    return "; ".join(database_config.set_statements(settings))


@dataclass
class Pooler:
    directory: Path
    port: int
    user: str | None  # the system user PgBouncer runs as (None: this process's)
    process: subprocess.Popen | None = None

    @property
    def config(self) -> Path:
        return self.directory / "pgbouncer.ini"

    @property
    def log(self) -> Path:
        return self.directory / "pgbouncer.log"

    def url(self, role_url: str) -> str:
        return pooled_url(role_url, self.port)

    def start(self, timeout: float = 15) -> None:
        """Start PgBouncer and wait until it accepts connections."""
        program = executable()
        if program is None:
            raise OpsError("pgbouncer is not installed (Debian: apt-get install pgbouncer).")
        self.process = subprocess.Popen(
            [program, str(self.config)],
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = self.log.read_text()[-2000:] if self.log.exists() else ""
                raise OpsError(f"PgBouncer did not start on port {self.port}.\n{log}")
            time.sleep(0.1)

    def stop(self) -> None:
        """End PgBouncer at once: its clients' connections are cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


def configure(
    directory: Path,
    role_urls: Iterable[str],
    *,
    port: int | None = None,
    pool_size: int = DEFAULT_POOL_SIZE,
) -> Pooler:
    """Write pgbouncer.ini and userlist.txt into `directory` for the roles of `role_urls`
    (all on one server: the first URL's host and port), every database of the server
    reachable under its own name."""
    urls = list(role_urls)
    server = conninfo_to_dict(urls[0])
    host, server_port = server.get("host") or "127.0.0.1", server.get("port") or "5432"
    directory.mkdir(parents=True, exist_ok=True)
    pooler = Pooler(directory, port or clusters.free_port(), clusters.system_user())
    users = directory / "userlist.txt"
    users.write_text(
        "".join(
            f"{_quoted(params['user'])} {_quoted(params.get('password') or '')}\n"
            for params in map(conninfo_to_dict, urls)
        )
    )
    users.chmod(0o600)
    pooler.config.write_text(
        "[databases]\n"
        f"* = host={host} port={server_port} connect_query='{_connect_query()}'\n"
        "\n[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {pooler.port}\n"
        "unix_socket_dir =\n"
        "auth_type = scram-sha-256\n"
        f"auth_file = {users}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        f"max_client_conn = {MAX_CLIENTS}\n"
        "server_reset_query =\n"
        f"logfile = {pooler.log}\n"
        f"pidfile = {directory / 'pgbouncer.pid'}\n"
    )
    clusters.hand_over(directory, pooler.user)
    return pooler
