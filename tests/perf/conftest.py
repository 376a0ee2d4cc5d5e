"""A small generated dataset, loaded once for the perf guards by the benchmark generator
itself (as the owner role, through the tenant policies), and flushed afterwards.

Three organizations, the largest with about half of the 2,400 leads: enough rows for
every list to fill a 25-row page, small enough to load in a few seconds. Loaded once for
the package and removed after its last test.
"""

from __future__ import annotations

import dj_database_url
import pytest
from django.conf import settings
from django.db import connection

from bench import generate
from bench import run as bench_run
from smartweb import db_bootstrap

LEADS = 2_400
ORGANIZATIONS = 3


def _url(user: str, password: str) -> str:
    """The test database's URL for `user` (host, port or socket as in the owner URL)."""
    return db_bootstrap.with_credentials(
        settings.DATABASE_OWNER_URL, user, password, connection.settings_dict["NAME"]
    )


def owner_url() -> str:
    owner = dj_database_url.parse(settings.DATABASE_OWNER_URL)
    return _url(owner["USER"], owner["PASSWORD"])


def runtime_url() -> str:
    return _url(connection.settings_dict["USER"], connection.settings_dict["PASSWORD"])


@pytest.fixture(scope="package")
def dataset(django_db_setup, django_db_blocker):
    """The organizations' plans, and the index definitions before and after the load."""
    with django_db_blocker.unblock():
        url = owner_url()
        tables = generate.bulk_table_names()
        with generate.psycopg.connect(url) as conn:
            before = generate.index_definitions(conn, tables)
        plans = generate.load(url, leads=LEADS, organizations=ORGANIZATIONS, workers=1)
        generate.vacuum(url, tables, workers=1)
        with generate.psycopg.connect(url) as conn:
            after = generate.index_definitions(conn, tables)
        yield {"plans": plans, "indexes_before": before, "indexes_after": after}
        # Every generated row hangs off an organization or a user.
        with generate.psycopg.connect(url) as conn:
            conn.execute("TRUNCATE accounts_organization, accounts_user CASCADE")


@pytest.fixture(scope="package")
def params(dataset, django_db_blocker):
    """The benchmark's actors and arguments, found in the largest organization."""
    with django_db_blocker.unblock():
        return bench_run.discover(runtime_url())
