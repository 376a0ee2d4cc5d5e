"""The rollup tables are tenant tables: another organization's rows are invisible and
cannot be written, and without an organization context nothing is seen."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from crm import rollups
from smartweb.tenancy.context import tenant_context
from tests.crm import factories

pytestmark = pytest.mark.django_db


def _organizations_seen(table: str) -> set:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT organization_id FROM {table}")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("rollup", rollups.ROLLUPS, ids=lambda r: r.table)
def test_each_organization_sees_its_own_rollup_rows_only(rollup, org_a, org_b, opp_a, opp_b):
    factories.ai_call(org_b)
    factories.ai_call(org_a)
    with tenant_context(org_a):
        assert _organizations_seen(rollup.table) == {org_a.pk}
    with tenant_context(org_b):
        assert _organizations_seen(rollup.table) == {org_b.pk}
    assert _organizations_seen(rollup.table) == set()  # no context: nothing


def test_another_organizations_rollup_rows_cannot_be_written(org_a, org_b, opp_a, opp_b):
    with tenant_context(org_a), connection.cursor() as cursor:
        cursor.execute("UPDATE crm_opportunityrollup SET deals = deals + 1")
        assert cursor.rowcount > 0  # its own rows only: org_b's are unchanged below
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            cursor.execute(
                "INSERT INTO crm_opportunityrollup (organization_id, kind, grain, day,"
                " pipeline_id, stage_id, currency, status, deals, value, weighted_value)"
                " SELECT %s, 'closes', 'month', NULL, pipeline_id, stage_id, currency,"
                " status, 1, 0, 0 FROM crm_opportunityrollup LIMIT 1",
                [org_b.pk],
            )
    with tenant_context(org_b):
        assert rollups.differences(rollups.OPPORTUNITIES, org_b.pk) == []
