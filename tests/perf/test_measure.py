"""The benchmark's two SQL measurements see what they claim to: under RLS the runtime role
sees its organization alone; without RLS the same statements return the same rows, the
policies do not apply, and nothing of the measurement outlives it."""

from __future__ import annotations

import psycopg
import pytest

from bench import measure
from smartweb.db_bootstrap import SEARCH_ROLE
from tests.perf.conftest import owner_url, runtime_url

pytestmark = pytest.mark.django_db
FILTERED = "SELECT id FROM leads_lead WHERE organization_id = '{organization}'::uuid"
UNFILTERED = "SELECT id FROM crm_opportunity"


def _measure(params, statements):
    organization, user = str(params["organization"]), params["admin"]
    with (
        measure.under_rls(runtime_url(), organization, user, statements) as under,
        measure.without_rls(owner_url(), organization, user, statements) as plain,
    ):
        timings = measure.interleaved(
            {"rls": under, "no_rls": plain}, iterations=5, seconds=0, warmup=1
        )
    return under, plain, timings


def test_both_return_the_same_rows_of_an_organization_filtered_statement(params):
    under, plain, timings = _measure(params, [FILTERED.format(**params)])
    assert under.rows == plain.rows == params["organization_leads"]
    # each run once a turn, the warm-up turn left out
    assert len(timings["rls"].samples) == len(timings["no_rls"].samples) == 5
    (statement,) = under.each(5)
    pairs = zip(statement.samples, timings["rls"].samples, strict=True)
    assert all(own <= total for own, total in pairs)


def test_without_rls_the_policies_do_not_apply_and_nothing_is_left_behind(params):
    under, plain, _ = _measure(params, [UNFILTERED])
    with psycopg.connect(owner_url()) as conn:
        every_organization = conn.execute(
            "SELECT count(*) FROM crm_opportunity WHERE organization_id IS NOT NULL"
        ).fetchone()[0]
        granted = conn.execute(
            "SELECT has_table_privilege(%s, 'crm_opportunity', 'SELECT')", [SEARCH_ROLE]
        ).fetchone()[0]
    assert 0 < under.rows < plain.rows
    assert plain.rows >= every_organization  # FORCE RLS on: the owner sees no row at all
    assert not granted
