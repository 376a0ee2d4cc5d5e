"""The distinct values of one column of a list's rows, found by walking an index one value
at a time instead of reading every row (a "loose index scan"), in one statement.

A list filter offers the values its reader's rows hold; Django finds them by `SELECT
DISTINCT` over the whole list, which for a large organization reads every one of its rows
on each page load (the companies' countries: 230 ms for the largest organization at 1M
leads). Here a recursive query asks the rows for the first value after the last one
found, which an index of (organization, the column) answers by a look-up, so a list of K
values costs about K look-ups whatever the number of rows. Each step is a query of the
list's own rows (its queryset's SQL, with its filters, its scope and the policy of the
runtime role under RLS); the condition the walk adds compares the column with a value
already found, by an operator PostgreSQL deems leakproof, so that it is an index
condition under the policy too.

A walk pays where the list's rows are read from that index, the organization's rows
filtered; each step costs what reading the list's first row costs. A rep's companies are
(their scope, an OR over their leads and their own records, reads the organization's
companies): each step passes over the organization's companies until it meets one of
theirs, a handful for a country they hold as others do, but every company of a country
they hold none of.
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet


def _walked(values: QuerySet, steps: str) -> list:
    """The first column of the rows of `steps`, a recursive walk of `listed`: the rows of
    the one-column values queryset `values`, unordered and without DISTINCT (the walk takes
    each value once, and over DISTINCT each step would dedupe the whole list)."""
    rows = values.order_by()
    rows.query.distinct = False
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # a queryset of no rows (`none()`)
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE listed(value) AS NOT MATERIALIZED ({sql}), {steps}",
            params,
        )
        return [value for (value,) in cursor.fetchall()]


def distinct_values(values: QuerySet) -> list:
    """The distinct values of the one-column values queryset `values` (a column without
    NULLs), in order, as `values.distinct().order_by(column)` gives them."""
    steps = """
        walk(value) AS (
            (SELECT value FROM listed ORDER BY value LIMIT 1)
          UNION ALL
            SELECT (SELECT value FROM listed WHERE value > walk.value ORDER BY value LIMIT 1)
              FROM walk
             WHERE walk.value IS NOT NULL
        )
        SELECT value FROM walk WHERE value IS NOT NULL
    """
    return _walked(values, steps)
