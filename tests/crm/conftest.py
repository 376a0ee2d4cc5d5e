"""CRM fixtures: leads and opportunities of organization A owned by different people, a
provider URL, and committed data for the tests that need other connections to see it."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from smartweb import db_bootstrap
from tests import factories as people
from tests.crm import factories

# Tables the test database keeps between tests (Django fills them at migrate).
KEPT_TABLES = ("django_migrations", "django_content_type", "auth_permission")


@pytest.fixture
def provider_url(settings):
    settings.AI_CALL_PROVIDER_URL = "http://127.0.0.1:9/provider"
    settings.AI_CALL_PROVIDER_KEY = "test-key"
    return settings.AI_CALL_PROVIDER_URL


@pytest.fixture
def opp_a(org_a, rep_a):
    """rep_a's open opportunity (rep_a is in manager_a's team)."""
    return factories.opportunity(org_a, owner=rep_a, name="Drip Drop website")


@pytest.fixture
def opp_a2(org_a, rep_a2):
    """rep_a2's open opportunity (outside manager_a's team)."""
    return factories.opportunity(org_a, owner=rep_a2, name="Sparky website")


@pytest.fixture
def opp_b(org_b, admin_b):
    return factories.opportunity(org_b, owner=admin_b, name="Bravo website")


@contextmanager
def owner_connection():
    """A connection to the test database as the owner role (which may TRUNCATE and
    ANALYZE), outside Django."""
    url = db_bootstrap.with_database(settings.DATABASE_OWNER_URL, connection.settings_dict["NAME"])
    with psycopg.connect(url, autocommit=True) as owner_conn:
        yield owner_conn


def _truncate_as_owner() -> None:
    with owner_connection() as owner_conn:
        tables = [
            row[0]
            for row in owner_conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
            if row[0] not in KEPT_TABLES
        ]
        owner_conn.execute(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        )


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Data committed for real, for tests whose other connections must see it (threads,
    the job worker). No test transaction wraps these tests; afterwards the tables are
    emptied by the owner role, because the runtime role may not TRUNCATE (and Django's
    flush would need it to)."""
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            connection.close()
            _truncate_as_owner()


@pytest.fixture
def live_org(committed):
    """A committed organization with an admin and a sales rep."""
    organization = people.make_organization("Live Web Sales")
    return (
        organization,
        people.org_admin(organization),
        people.make_member(organization, "sales_rep"),
    )


class FakeProvider:
    """An AI call provider on 127.0.0.1: records each request and answers with the next
    queued (status, body, delay) or, by default, 200 and a new call id."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: deque = deque()
        self.lock = threading.Lock()

    def answer(self, status: int, body: dict | str, delay: float = 0.0) -> None:
        self.answers.append((status, body, delay))

    def handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with provider.lock:
                    provider.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)}
                    )
                    n = len(provider.requests)
                    status, body, delay = (
                        provider.answers.popleft()
                        if provider.answers
                        else (200, {"call_id": f"prov-call-{n}", "status": "queued"}, 0.0)
                    )
                time.sleep(delay)
                payload = body if isinstance(body, str) else json.dumps(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def fake_provider(settings):
    provider = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), provider.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.AI_CALL_PROVIDER_URL = f"http://127.0.0.1:{server.server_port}/v1"
    settings.AI_CALL_PROVIDER_KEY = "test-key"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
