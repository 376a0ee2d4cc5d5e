"""manage.py db_report: every section, graceful without pg_stat_statements, and a
failure when a tenant table is not under row level security."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.conftest import _as_owner

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
def test_report_has_every_section_and_passes_on_the_migrated_schema():
    text = _report()
    for title in SECTIONS:
        assert title in text
    assert "leads_lead" in text or "leads_interaction" in text
    # Either the statements (with their header) or a note saying how to enable them.
    assert "statement" in text or "unavailable" in text
    assert text.rstrip().endswith("none")


@pytest.mark.django_db(transaction=True)
def test_report_fails_on_a_tenant_table_without_rls():
    with _as_owner(), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE perf_unprotected (id int, organization_id uuid)")
    try:
        with pytest.raises(CommandError, match="1 tenant table"):
            _report()
    finally:
        with _as_owner(), connection.cursor() as cursor:
            cursor.execute("DROP TABLE perf_unprotected")
