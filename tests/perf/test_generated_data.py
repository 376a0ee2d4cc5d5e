"""The generated leads are scored as the app scores them, so that lists read and decode
what they do on real data: every lead has a breakdown whose score is the lead's and whose
points add up to it (leads.scoring)."""

from __future__ import annotations

import re

import psycopg
import pytest

from bench.rows import copy_text
from leads import scoring
from tests.perf.conftest import owner_url

pytestmark = pytest.mark.django_db


def engagement_reason(breakdown: dict) -> str:
    return breakdown["factors"]["engagement"]["reason"]


def test_every_generated_lead_carries_its_score_breakdown(dataset):
    with psycopg.connect(owner_url()) as conn, conn.transaction(force_rollback=True):
        conn.execute("ALTER TABLE leads_lead NO FORCE ROW LEVEL SECURITY")
        rows = conn.execute(
            "SELECT lead_score, score_breakdown, scored_at FROM leads_lead"
        ).fetchall()
    assert len(rows) >= 2_000
    for score, breakdown, scored_at in rows:
        assert scored_at is not None
        assert breakdown["version"] == scoring.VERSION
        assert breakdown["score"] == score
        assert set(breakdown["factors"]) == set(scoring.FACTORS)
        points = sum(factor["points"] for factor in breakdown["factors"].values())
        assert abs(points - score) <= 1  # each factor's points are rounded
        # "R interactions in 90 days, P positive": the positive ones are among the recent
        recent, _days, positive = map(int, re.findall(r"\d+", engagement_reason(breakdown)))
        assert positive <= recent
    assert len({score for score, _, _ in rows}) > 30  # spread, not one value


def test_json_is_copied_as_it_was_given():
    # json.dumps writes backslash escapes, which COPY's text format would read as its own
    value = {"reason": 'Café "Bar" \\ tab\there', "lines": ["one\ntwo"], "n": 1.5}
    with psycopg.connect(owner_url()) as conn, conn.transaction(force_rollback=True):
        conn.execute("CREATE TEMPORARY TABLE copied (value jsonb, also text)")
        with conn.cursor().copy("COPY copied FROM STDIN") as copy:
            copy.write(f"{copy_text(value)}\t{copy_text(None)}\n")
        assert conn.execute("SELECT value, also FROM copied").fetchall() == [(value, None)]
