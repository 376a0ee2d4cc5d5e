"""The project under concurrent clients and faults: a gunicorn server with four workers
and the job worker as the runtime role, outside any test transaction, on the demo
organizations (`seed_demo`, as `make run` loads them). The database is emptied when the
package ends. Server and worker output: var/test-artifacts/reliability/."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import Organization, User
from tests.conftest import _as_owner
from tests.fake_provider import serve_provider
from tests.reliability.clients import StaffBrowser
from tests.servers import ARTIFACTS_ROOT, job_worker, runtime_database_url, web_server
from tests.smtp_sink import smtp_sink

ARTIFACTS = ARTIFACTS_ROOT / "reliability"
SERVER_LOG = ARTIFACTS / "server.log"


@pytest.fixture(scope="package")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", verbosity=0)
        yield
        with _as_owner():
            call_command("flush", interactive=False, verbosity=0)
            # Flush empties Django's tables, not the job queue's: a job these tests queued
            # and no worker ran would otherwise be run by a later test's worker.
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


@pytest.fixture(scope="package")
def provider():
    """The AI call provider the job worker calls."""
    with serve_provider() as running:
        yield running


@pytest.fixture(scope="package")
def mail_server():
    """The SMTP server the web server sends through (invitations): a send with nowhere to
    go would fail the page that sends it."""
    with smtp_sink() as (sink, port):
        yield sink, port


@pytest.fixture(scope="package")
def server_env(demo, provider, mail_server):
    """Production settings but for TLS, the test database as the runtime role."""
    return {
        **os.environ,
        "DATABASE_URL": runtime_database_url(),
        "DEBUG": "0",
        "SMARTWEB_TESTING": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "60",
        "AI_CALL_PROVIDER_URL": provider.url,
        "AI_CALL_PROVIDER_KEY": "reliability-test-key",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(mail_server[1]),
    }


@pytest.fixture(scope="package")
def live_url(server_env):
    with web_server(server_env, SERVER_LOG, workers=4, production_config=True) as url:
        yield url


@pytest.fixture(scope="package")
def worker(server_env):
    with job_worker(server_env, ARTIFACTS / "worker.log") as process:
        yield process


@pytest.fixture(scope="module")
def demo_org(django_db_blocker, live_url) -> Organization:
    """The demo organization the live server's staff work in."""
    with django_db_blocker.unblock():
        return Organization.objects.get(slug="demo")


@pytest.fixture(scope="module")
def colleague(django_db_blocker, demo_org) -> str:
    """A member of the demo organization other than its admin (an id), to share a lead
    with."""
    with django_db_blocker.unblock():
        return str(User.objects.get(email=f"rep2@{demo_org.slug}.smartweb.test").pk)


@pytest.fixture(scope="module")
def first(live_url) -> StaffBrowser:
    """One member's browser session on the live server (a module's own)."""
    return StaffBrowser(live_url)


@pytest.fixture(scope="module")
def second(live_url) -> StaffBrowser:
    """Another browser session, acting at the same time as `first`."""
    return StaffBrowser(live_url)
