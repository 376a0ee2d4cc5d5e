"""PgBouncer in transaction mode in front of the test server, with fewer server
connections (POOL_SIZE a role) than the tests open clients, and the default database
pointed at it, with the settings of a pooled connection (smartweb.database_config).

`pooled_database`: for the tests of tests/pooler, one a module. `pytest --through-pooler`
(`make test-pooled`) runs every test of the session through one, so the suites written
for a direct connection (tests/security/test_connection_reuse.py, the API isolation
tests) run unchanged through the pooler. Without pgbouncer these are skipped, unless
SMARTWEB_REQUIRE_POOLER=1 (CI), which turns the missing program into a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from smartweb import database_config, pooler
from tests.servers import DIRECT_SERVER, runtime_database_url

POOL_SIZE = 2
# The keys of a connection's settings that differ through the pooler.
POOLED_KEYS = ("HOST", "PORT", "OPTIONS", "DISABLE_SERVER_SIDE_CURSORS")


def pytest_addoption(parser):
    parser.addoption(
        "--through-pooler",
        action="store_true",
        help="connect every test through a transaction-mode PgBouncer (make test-pooled)",
    )


def require_pgbouncer() -> None:
    if pooler.executable() is None:
        if os.environ.get("SMARTWEB_REQUIRE_POOLER") == "1":
            pytest.fail("SMARTWEB_REQUIRE_POOLER=1 but pgbouncer is not installed", pytrace=False)
        pytest.skip("pgbouncer is not installed")


@contextmanager
def started_pooler(**environment: str) -> Iterator[pooler.Pooler]:
    """A PgBouncer for the runtime and owner roles in front of the test server, its
    web bounds read with `environment` set; stopped and removed at the end."""
    require_pgbouncer()
    directory = Path(tempfile.mkdtemp(prefix="smartweb-pooler-"))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        running = pooler.configure(
            directory, [runtime_database_url(), settings.DATABASE_OWNER_URL], pool_size=POOL_SIZE
        )
    try:
        running.start()
        yield running
    finally:
        running.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def default_through(running: pooler.Pooler) -> Iterator[None]:
    """The default database (every thread's connection) through `running`."""
    db = connections["default"].settings_dict  # one dict, shared by every thread
    direct = {key: db[key] for key in POOLED_KEYS}
    pooled = database_config.database(
        running.url(runtime_database_url()),
        pooled=True,
        bounds={},
        conn_max_age=db["CONN_MAX_AGE"],
    )
    connections["default"].close()
    first = DIRECT_SERVER not in db  # a pooler in front of the server, not of another
    if first:
        db[DIRECT_SERVER] = {"HOST": db["HOST"], "PORT": db["PORT"]}
    db.update({key: pooled[key] for key in POOLED_KEYS})
    try:
        yield
    finally:
        connections["default"].close()
        db.update(direct)
        if first:
            del db[DIRECT_SERVER]


@pytest.fixture(scope="session")
def session_pooler(django_db_setup) -> Iterator[pooler.Pooler]:
    with started_pooler() as running, default_through(running):
        yield running


@pytest.fixture(scope="session", autouse=True)
def _through_pooler(request) -> None:
    if request.config.getoption("--through-pooler"):
        request.getfixturevalue("session_pooler")


@pytest.fixture(scope="module")
def pooled_database(request, django_db_setup) -> Iterator[pooler.Pooler]:
    """The session's pooler with --through-pooler, else one for the module."""
    if request.config.getoption("--through-pooler"):
        yield request.getfixturevalue("session_pooler")
        return
    with started_pooler() as running, default_through(running):
        yield running
