"""CRM fixtures: leads and opportunities of organization A owned by different people, a
provider URL, and committed data for the tests that need other connections to see it."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from smartweb import db_bootstrap
from tests import factories as people
from tests.crm import factories
from tests.fake_provider import serve_provider

# Tables the test database keeps between tests (Django fills them at migrate).
KEPT_TABLES = ("django_migrations", "django_content_type", "auth_permission")

# An organization whose zone is an hour from UTC in summer (docs/decisions/0050).
LONDON = "Europe/London"


@pytest.fixture
def provider_url(settings):
    settings.AI_CALL_PROVIDER_URL = "http://127.0.0.1:9/provider"
    settings.AI_CALL_PROVIDER_KEY = "test-key"
    return settings.AI_CALL_PROVIDER_URL


@pytest.fixture
def london(db):
    return people.make_organization("Thames Roofing", time_zone=LONDON)


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


@pytest.fixture
def fake_provider(settings):
    with serve_provider() as provider:
        settings.AI_CALL_PROVIDER_URL = provider.url
        settings.AI_CALL_PROVIDER_KEY = "test-key"
        yield provider
