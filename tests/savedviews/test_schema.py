"""The views box's query (one list's views of the user and their team) can read the
saved views index that leads with the organization."""

import pytest
from django.db import connection

from savedviews import selectors
from tests.factories import acting_as

pytestmark = pytest.mark.django_db


def test_the_views_box_query_can_use_its_index(org_a, rep_a):
    with acting_as(rep_a, org_a):
        views = selectors.views_for(user=rep_a, resource="leads")
        sql, params = views.query.sql_with_params()
        with connection.cursor() as cursor:
            # A handful of rows: without this the planner rightly reads the table.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "savedview_org_resource" in plan, plan
