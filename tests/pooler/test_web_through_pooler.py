"""gunicorn serving the API through a transaction-mode PgBouncer, as deployed with one:
DATABASE_URL the pooler's, DATABASE_DIRECT_URL the server's. A request stuck behind a
lock ends at the web statement bound the pooler sets (libpq's `options`, which carry it
on a direct connection, cannot pass PgBouncer); a pooler that is down answers 503 with
Retry-After, and once it is back each organization sees its own rows again."""

from __future__ import annotations

import os
import threading
import time

import pytest
import requests

from accounts import services
from leads.models import Company, Lead
from smartweb.tenancy.context import tenant_context
from tests.pooler.fixtures import started_pooler
from tests.reliability.test_faults import _hold_lock, assert_unavailable
from tests.servers import ARTIFACTS_ROOT, runtime_database_url, web_server

pytestmark = pytest.mark.django_db(transaction=True)
STATEMENT_BOUND = 2  # seconds; the lock bound off, so only the statement bound can end a wait


@pytest.fixture(scope="module")
def pooler(django_db_setup):
    with started_pooler(
        WEB_STATEMENT_TIMEOUT=str(STATEMENT_BOUND), WEB_LOCK_TIMEOUT="0"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def live_url(pooler):
    env = {
        "DATABASE_URL": pooler.url(runtime_database_url()),
        "DATABASE_DIRECT_URL": runtime_database_url(),
        "DEBUG": "0",
        "SMARTWEB_TESTING": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    with web_server({**os.environ, **env}, ARTIFACTS_ROOT / "pooler" / "server.log") as url:
        yield url


def _organization_api(organization, admin, names: set[str]) -> requests.Session:
    """An HTTP client with a token of `organization`'s admin, which has leads `names`."""
    with tenant_context(organization, user=admin):
        for name in names:
            Lead.objects.create(company=Company.objects.create(name=name))
        _, raw = services.token_create(
            user=admin, organization_id=organization.pk, name="pooler", expires_in_days=1
        )
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {raw}"
    return http


@pytest.fixture
def apis(org_a, admin_a, org_b, admin_b):
    return [
        (_organization_api(org, admin, names), names)
        for org, admin, names in (
            (org_a, admin_a, {"Acme plumbing", "Acme roofing"}),
            (org_b, admin_b, {"Bravo electrics"}),
        )
    ]


def _listed(live_url: str, http: requests.Session) -> set[str]:
    response = http.get(f"{live_url}/api/v1/leads/", timeout=60)
    assert response.status_code == 200, response.text[:300]
    return {row["company"]["name"] for row in response.json()["results"]}


def test_a_request_stuck_behind_a_lock_ends_at_the_web_statement_bound(live_url, apis):
    (http, names), _ = apis
    assert _listed(live_url, http) == names
    locked = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=("leads_lead", STATEMENT_BOUND + 4, locked))
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        response = http.get(f"{live_url}/api/v1/leads/", timeout=60)
        waited = time.monotonic() - started
        assert_unavailable(response)
        assert STATEMENT_BOUND - 0.5 < waited < STATEMENT_BOUND + 2, f"waited {waited:.1f} s"
    finally:
        holder.join()
    assert _listed(live_url, http) == names


def test_a_pooler_that_is_down_answers_503_and_no_rows(live_url, pooler, apis):
    (http_a, names_a), (http_b, names_b) = apis
    assert _listed(live_url, http_a) == names_a
    pooler.stop()
    try:
        for http in (http_a, http_b):
            assert_unavailable(http.get(f"{live_url}/api/v1/leads/", timeout=60))
        assert_unavailable(requests.get(f"{live_url}/healthz", timeout=60))
    finally:
        pooler.start()
    for _ in range(3):
        assert _listed(live_url, http_b) == names_b
        assert _listed(live_url, http_a) == names_a
