"""The nightly rebuild: rows that drifted from their facts are corrected; a rebuild that
fails keeps the previous rows, says so in the log, fails its job and shows in the health
report."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from crm import rollups
from crm.models import OpportunityRollup
from smartweb.tenancy.context import tenant_context
from tests.crm.conftest import owner_connection

pytestmark = pytest.mark.django_db


def _deals(org) -> int:
    with tenant_context(org):
        return sum(OpportunityRollup.objects.values_list("deals", flat=True))


def _drift(org) -> None:
    """A repair of the facts by hand would leave rows like this: one deal counted twice."""
    with tenant_context(org):
        row = OpportunityRollup.objects.filter(deals__gt=0).first()
        OpportunityRollup.objects.filter(pk=row.pk).update(deals=row.deals + 1)


def test_a_rebuild_corrects_rows_that_drifted_from_their_facts(org_a, opp_a, opp_a2, caplog):
    _drift(org_a)
    with caplog.at_level(logging.WARNING, logger="crm.rollups"):
        corrected = rollups.rebuild_all([org_a.pk])
    assert corrected["crm_opportunityrollup"] == 2  # the drifted row out, the right one in
    # Each open deal: on its close and creation days, their months and the months' totals.
    assert _deals(org_a) == 2 * 2 * 3
    assert "differed from their facts" in caplog.text


def test_a_failed_rebuild_keeps_the_previous_rows_and_reports_it(
    org_a, opp_a, settings, caplog, monkeypatch
):
    _drift(org_a)
    before = _deals(org_a)
    monkeypatch.setattr(rollups, "REBUILD_LOCK_TIMEOUT", "100ms")
    # A long write to the opportunities holds its lock: the rebuild cannot take its own.
    with owner_connection() as writer, writer.transaction():
        writer.execute("LOCK TABLE crm_opportunity IN ROW EXCLUSIVE MODE")
        with (
            caplog.at_level(logging.ERROR, logger="crm.rollups"),
            pytest.raises(rollups.RebuildFailed, match="crm_opportunityrollup"),
        ):
            rollups.rebuild_all([org_a.pk])
    assert _deals(org_a) == before
    assert "Rebuilding crm_opportunityrollup" in caplog.text and "lock timeout" in caplog.text


def test_the_health_report_names_a_periodic_job_whose_last_run_failed(client, settings):
    settings.HEALTH_TOKEN = "health-secret-0123456789"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, args) VALUES"
            " ('crm', 'crm.rebuild_rollups', 'succeeded', '{}'),"
            " ('crm', 'crm.rebuild_rollups', 'failed', '{}'),"
            " ('crm', 'crm.run_campaign', 'failed', '{}'),"
            " ('crm', 'crm.run_campaign', 'succeeded', '{}')"
        )
    report = client.get(
        "/healthz?full=1", HTTP_AUTHORIZATION=f"Bearer {settings.HEALTH_TOKEN}"
    ).json()
    assert report["status"] == "degraded"
    assert report["failed_jobs"] == ["crm.rebuild_rollups"]
    assert "last crm.rebuild_rollups job failed" in report["problems"]
