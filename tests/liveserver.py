"""The project's own processes for tests that need a real server: gunicorn as the runtime
role on the test database, outside any test transaction (the live admin tests, the
schema fuzz run)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings


def database_url() -> str:
    """The test database as the runtime role, for the server's own connections."""
    db = settings.DATABASES["default"]
    credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
    host = db["HOST"] or ""
    if host.startswith("/"):
        return f"postgresql://{credentials}@/{db['NAME']}?host={quote(host)}"
    return f"postgresql://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(command: list[str], env: dict, log_path: Path) -> Iterator[subprocess.Popen]:
    """A process of the project, its output in log_path, ended with the block."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def gunicorn(env: dict, log_path: Path) -> Iterator[str]:
    """A gunicorn server with two threaded workers; yields its URL once it answers."""
    port = free_port()
    # Threaded workers: a browser opens idle connections ahead of use, and a sync worker
    # waits on one until its timeout while the real request queues.
    command = [sys.executable, "-m", "gunicorn", "smartweb.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--worker-class", "gthread", "--threads", "4"]
    command += ["--timeout", "120", "--access-logfile", "-"]
    url = f"http://127.0.0.1:{port}"
    with running(command, env, log_path) as server:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet, or still loading the application
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log_path}")
            time.sleep(0.2)
        yield url
