"""The project's processes as they run in production, for tests outside any test
transaction: a gunicorn server and the job worker on the test database as the runtime
role, their output kept under var/test-artifacts/<suite>/."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings

from smartweb.clusters import free_port

ARTIFACTS_ROOT = Path(settings.BASE_DIR) / "var" / "test-artifacts"
# The server's address in the default connection's settings while they point at a pooler.
DIRECT_SERVER = "DIRECT_SERVER"


def runtime_database_url() -> str:
    """The test database as the runtime role on the server itself, for the processes' own
    connections. Not through the pooler the session's connections may go through
    (`pytest --through-pooler`, whose fixture keeps the server's address): a pooler a
    test starts must sit in front of the server, or its `connect_query` bounds would land
    on whichever server connection the outer pooler lends, not on the next transaction's."""
    db = settings.DATABASES["default"]
    server = {**db, **db.get(DIRECT_SERVER, {})}
    credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
    host = server["HOST"] or ""
    if host.startswith("/"):
        return f"postgresql://{credentials}@/{db['NAME']}?host={quote(host)}"
    return f"postgresql://{credentials}@{host}:{server['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def running(command: list[str], env: dict, log: Path) -> Iterator[subprocess.Popen]:
    """A process of the project, its output in `log`, ended with the block."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def job_worker(env: dict, log: Path):
    """The background job worker, as `make run` starts it."""
    return running([sys.executable, "-m", "smartweb.worker"], env, log)


def logged_for(log: Path, request_id: str, *, most: int = 80) -> str:
    """What the server logged for one request (its line and the traceback under it), to
    put the cause of a failed answer into the test's report: a run's artifacts may be
    out of reach where it ran."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    found = []
    for line in lines:
        if found and (len(found) >= most or line[:2] == "20"):  # the next timestamped entry
            break
        if found or f"[{request_id}]" in line:
            found.append(line)
    return "\n".join(found) or f"(nothing logged for request {request_id} in {log})"


@contextmanager
def web_server(
    env: dict, log: Path, *, workers: int = 2, threads: int = 4, production_config: bool = False
) -> Iterator[str]:
    """gunicorn serving the project; yields its base URL once /healthz answers 200. With
    `production_config`, the project's gunicorn.conf.py as deployed (timeouts, graceful
    restart, max requests), with the workers and threads given here."""
    # Threaded workers: a browser opens idle connections ahead of use, and a sync worker
    # waits on one until its timeout while the real request queues.
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "smartweb.wsgi", "--bind", f"127.0.0.1:{port}"]
    if production_config:
        command += ["--config", "gunicorn.conf.py"]
    command += ["--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)]
    if not production_config:
        command += ["--timeout", "120", "--access-logfile", "-"]
    url = f"http://127.0.0.1:{port}"
    with running(command, env, log) as server:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet, or still loading the application
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log}")
            time.sleep(0.2)
        yield url
