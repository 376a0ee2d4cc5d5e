"""The views box's query (one list's views of the user and their team) reads an index,
not the whole table, for a rep (their own views and their team's) and for an admin
(every shared view of the list): which index is the planner's choice."""

import pytest
from django.db import connection

from savedviews import selectors
from tests.factories import acting_as

pytestmark = pytest.mark.django_db


def _plan(user, organization) -> str:
    with acting_as(user, organization):
        views = selectors.views_for(user=user, resource="leads")
        sql, params = views.query.sql_with_params()
        with connection.cursor() as cursor:
            # A handful of rows: without this the planner rightly reads the table.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())


def test_the_views_box_query_reads_an_index(org_a, rep_a, admin_a):
    for user in (rep_a, admin_a):
        plan = _plan(user, org_a)
        assert "Seq Scan on savedviews_savedview" not in plan, plan
        assert "savedviews_savedview" in plan
