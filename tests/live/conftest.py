"""The admin as it is really used: a gunicorn server with two workers as the runtime role,
outside any test transaction, driven by headless Chromium (Debian's chromium and
chromium-driver; nothing is downloaded).

The demo organizations are loaded once for the package (`seed_demo`, as `make run` does)
and the database is flushed when the package ends. Tests read the database through
`read` (in the organization's context, as the runtime role). A failing test leaves a
screenshot and the page's HTML under ARTIFACTS, printed in the run's header.

Without the browser the tests are skipped with a message; CI sets
SMARTWEB_REQUIRE_BROWSER=1, which turns a missing browser into a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tests.crm.conftest import _truncate_as_owner
from tests.fake_provider import serve_provider
from tests.live.browser import Browser
from tests.servers import ARTIFACTS_ROOT, job_worker, runtime_database_url, web_server
from tests.smtp_sink import smtp_sink

ARTIFACTS = ARTIFACTS_ROOT / "live"
# The demo organization's identity provider, never contacted (tests/live/test_sso.py
# points it at a provider of its own while it runs).
DEMO_DISCOVERY_URL = "https://idp.example.test/.well-known/openid-configuration"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def pytest_report_header(config):
    return f"live admin tests: screenshots of failures under {ARTIFACTS}"


def _browser_missing() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if not missing:
        return None
    return f"no browser ({', '.join(missing)}): apt-get install chromium chromium-driver"


@pytest.fixture(scope="package")
def demo(django_db_setup, django_db_blocker):
    """The demo organizations of `make run`; the database is emptied afterwards."""
    with django_db_blocker.unblock():
        call_command("seed_demo", verbosity=0)
        _one_row_of_each_kind_the_demo_lacks()
        yield
        # Every table, the job queue's too (flush empties Django's models only): a failed
        # job of the server's worker would otherwise be read by the next tests.
        connection.close()
        _truncate_as_owner()


def _one_row_of_each_kind_the_demo_lacks() -> None:
    """A token, an invitation, an enrichment, a consent record, a subject request, a
    suppression entry and an identity provider, so that every admin model has a change
    page to open, on one of the rep's leads (seen by the rep, the manager and the admin)."""
    from accounts.invitations import invitation_create
    from accounts.models import Organization, Role, User
    from accounts.services import token_create
    from compliance import services as compliance
    from compliance.suppression import suppress
    from leads.models import Lead
    from leads.services import enrichment_record
    from smartweb.tenancy.context import tenant_context
    from sso.services import provider_save

    organization = Organization.objects.get(slug="demo")
    rep = User.objects.get(email="rep@demo.smartweb.test")
    with tenant_context(organization):
        lead = Lead.objects.filter(assigned_to=rep).order_by("created_at").first()
        token_create(user=rep, organization_id=organization.pk, name="Rep's integration")
        invitation_create(
            email="invitee@example.test",
            role=Role.objects.get(slug="sales_rep"),
            acting_user=None,
            link=lambda token: f"http://testserver/invitations/{token}/",
        )
        enrichment_record(
            lead=lead, acting_user=None, provider="google_places", data={"google_rating": 4.5}
        )
        compliance.consent_record(
            lead=lead, purpose="contact", granted=True, source="email", acting_user=None
        )
        compliance.subject_request_open(kind="export", lead=lead, acting_user=None)
        suppress(emails=["gone@example.test"])
        # The demo provider's name does not resolve: its address is not checked here.
        with override_settings(SSO_ALLOW_PRIVATE_ADDRESSES=True):
            provider_save(
                provider=None,
                changes={
                    "name": "Demo identity provider",
                    "kind": "oidc",
                    "discovery_url": DEMO_DISCOVERY_URL,
                    "client_id": "demo-client",
                    "email_domains": ["demo.smartweb.test"],
                },
                client_secret="demo-client-secret",  # noqa: S106  (a demo value)
                acting_user=None,
            )


@pytest.fixture(scope="package")
def provider():
    """The AI call provider the server's job worker calls."""
    with serve_provider() as running:
        yield running


@pytest.fixture(scope="package")
def mail_server():
    """The SMTP server the server and its job worker send through (invitations, digests,
    emails to leads): a send that has nowhere to go would fail its job."""
    with smtp_sink() as (sink, port):
        yield sink, port


@pytest.fixture(scope="package")
def server_env(demo, provider, mail_server):
    """The environment of the server and its job worker: the test database as the runtime
    role, production settings but for TLS, the local provider and mail server."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("SMARTWEB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SMARTWEB_REQUIRE_BROWSER=1 but {missing}", pytrace=False)
        pytest.skip(missing)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DATABASE_URL": runtime_database_url(),
        "DEBUG": "0",
        "SMARTWEB_TESTING": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "60",
        "AI_CALL_PROVIDER_URL": provider.url,
        "AI_CALL_PROVIDER_KEY": "live-test-key",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(mail_server[1]),
        "SSO_ALLOW_PRIVATE_ADDRESSES": "1",  # the local identity provider (test_sso)
    }


@pytest.fixture(scope="package")
def worker(server_env):
    """The background job worker, as `make run` starts it."""
    with job_worker(server_env, ARTIFACTS / "worker.log") as process:
        yield process


@pytest.fixture(scope="package")
def live_url(server_env):
    try:
        with web_server(server_env, ARTIFACTS / "server.log") as url:
            yield url
    except RuntimeError as error:
        pytest.fail(str(error))


def _chromium():
    """A headless Chromium of its own (its own cookies: another person's session)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    chrome.implicitly_wait(0)
    return chrome


@pytest.fixture(scope="package")
def driver(live_url):
    chrome = _chromium()
    yield chrome
    chrome.quit()


@pytest.fixture(scope="package")
def other_driver(live_url):
    """A second browser, started only for the tests of two people at once."""
    chrome = _chromium()
    yield chrome
    chrome.quit()


@pytest.fixture
def browser(driver, live_url):
    return Browser(driver, live_url)


@pytest.fixture
def other_browser(other_driver, live_url):
    return Browser(other_driver, live_url)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        name = item.nodeid.split("::", 1)[-1].replace("/", "_")[:150]
        for fixture, suffix in (("browser", ""), ("other_browser", "-other")):
            if fixture in item.funcargs:
                item.funcargs[fixture].keep(ARTIFACTS / f"{name}{suffix}")
    return report
