"""Test set-up: the test database is built by the owner role, the tests run as the
runtime role (so RLS applies to everything they do). Shared people and helpers."""

from __future__ import annotations

from contextlib import contextmanager

import dj_database_url
import pytest
from django.conf import settings
from django.db import connections
from django.test import TransactionTestCase

pytest_plugins = ["tests.fixtures", "tests.clock", "tests.pooler.fixtures"]


@contextmanager
def _as_owner():
    """Switch the default connection's credentials to the owner role for the block."""
    connection = connections["default"]
    owner = dj_database_url.parse(settings.DATABASE_OWNER_URL)
    runtime = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}
    connection.close()
    connection.settings_dict.update(USER=owner["USER"], PASSWORD=owner["PASSWORD"])
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(runtime)


def _flush_as_owner(original):
    """Transactional tests end with a TRUNCATE, which the runtime role may not run (and
    must not: TRUNCATE ignores RLS). The owner role does it instead."""

    def teardown(self):
        with _as_owner():
            original(self)

    return teardown


TransactionTestCase._fixture_teardown = _flush_as_owner(TransactionTestCase._fixture_teardown)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    from django.test.utils import setup_databases, teardown_databases

    if not settings.DATABASE_OWNER_URL:
        pytest.exit("DATABASE_OWNER_URL is not set: run the tests with `make test`.", 2)
    with django_db_blocker.unblock(), _as_owner():
        db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield
    with django_db_blocker.unblock(), _as_owner():
        teardown_databases(db_cfg, verbosity=0)


@pytest.fixture
def read(django_db_blocker):
    """Database access for a test's own checks outside any wrapping transaction (the
    suites that run the project as processes: live, reliability)."""
    with django_db_blocker.unblock():
        yield
