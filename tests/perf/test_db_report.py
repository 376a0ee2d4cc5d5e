"""manage.py db_report: every section, graceful without pg_stat_statements, and a
failure when a tenant table is not under row level security."""

from __future__ import annotations

import io

import psycopg
import pytest
from django.core.management import CommandError, call_command

from tests.perf.conftest import owner_url

SECTIONS = (
    "Slowest statements",
    "Largest tables",
    "Largest indexes",
    "Unused indexes",
    "Tenant tables without row level security",
)


def _report() -> str:
    out = io.StringIO()
    call_command("db_report", "--limit", "5", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_report_has_every_section_and_passes_on_the_migrated_schema(dataset):
    # with the generated leads loaded, their tables are the largest whatever ran before
    text = _report()
    for title in SECTIONS:
        assert title in text
    assert "leads_lead" in text or "leads_interaction" in text
    # Either the statements (with their header) or a note saying how to enable them.
    assert "statement" in text or "unavailable" in text
    assert text.rstrip().endswith("none")


@pytest.fixture
def unprotected_table(django_db_setup, django_db_blocker):
    """A table with organization_id and no RLS, created and dropped by the owner role
    outside the test's transaction (which holds a lock on it until it ends)."""
    with django_db_blocker.unblock():
        with psycopg.connect(owner_url(), autocommit=True) as conn:
            conn.execute("CREATE TABLE perf_unprotected (id int, organization_id uuid)")
        yield
        with psycopg.connect(owner_url(), autocommit=True) as conn:
            conn.execute("DROP TABLE perf_unprotected")


def test_report_fails_on_a_tenant_table_without_rls(unprotected_table, db):
    with pytest.raises(CommandError, match="1 tenant table"):
        _report()
