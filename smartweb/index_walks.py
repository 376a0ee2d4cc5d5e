"""The distinct values of one column of a list's rows, found by walking an index one value
at a time instead of reading every row (a "loose index scan"), in one statement.

A list filter offers the values its reader's rows hold, and the date hierarchy the years,
months or days they fall in; Django finds them by `SELECT DISTINCT` over the whole list,
which for a large organization reads every one of its rows on each page load (the
companies' countries: 230 ms for the largest organization at 1M leads; the interactions'
years: 90 ms). Here a recursive query asks the rows for the first value after the last
one found, which an index of (organization, the column) answers by a look-up, so a list
of K values costs about K look-ups whatever the number of rows. Each step is a query of
the list's own rows (its queryset's SQL, with its filters, its scope and the policy of
the runtime role under RLS); the conditions the walk adds compare the column with a value
already found, by operators PostgreSQL deems leakproof, so that they are index conditions
under the policy too.

A walk pays where the list's rows are read from that index, the organization's rows
filtered; each step costs what reading the list's first row costs. A rep's or a team's
rows are not: their companies are found by id from their leads and their own records,
their interactions through their leads (`smartweb.access`), so that each step would cost
what Django's one read of them all costs (the callers decide:
`smartweb.admin.IndexedValuesFilter`, `TenantModelAdmin.walks_date_hierarchy`).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

# Wider than the span between any two UTC offsets a zone of the tz database has had
# (Pacific/Apia: -11:30 once, +14:00 now, 25:30): local time never runs back further, nor
# is an instant whose local time is T further from the instant that reads T now.
ZONE_SPAN = "26 hours"
KINDS = ("year", "month", "day")


def _walked(values: QuerySet, steps: str, steps_params: tuple = ()) -> list:
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
            [*params, *steps_params],
        )
        return [value for (value,) in cursor.fetchall()]


# Each value once, in order: from the last one found, the first greater one.
_VALUES = """
    walk(value) AS (
        (SELECT value FROM listed ORDER BY value LIMIT 1)
      UNION ALL
        SELECT (SELECT value FROM listed WHERE value > walk.value ORDER BY value LIMIT 1)
          FROM walk
         WHERE walk.value IS NOT NULL
    )
"""


def distinct_values(values: QuerySet) -> list:
    """The distinct values of the one-column values queryset `values` (a column without
    NULLs), in order, as `values.distinct().order_by(column)` gives them."""
    return _walked(values, f"{_VALUES} SELECT value FROM walk WHERE value IS NOT NULL")


def spellings(values: QuerySet, text: str) -> list:
    """The distinct values of the one-column text values queryset `values` (a column
    without NULLs) equal to `text` in any case, by Django's `iexact` (`UPPER(value) =
    UPPER(text)`): for a filter `column__in=spellings(…)`, which an index of
    (organization, the column) serves under the policy, where `UPPER` of the column, not
    leakproof, is checked on every row of the organization. One look-up per distinct
    value of the column, not one per row."""
    steps = f"{_VALUES} SELECT value FROM walk WHERE UPPER(value::text) = UPPER(%s)"
    return _walked(values, steps, (text,))


def bucket_starts(values: QuerySet, kind: str) -> list[dt.datetime]:
    """The years, months or days (`kind`) of the current time zone in which the instants of
    the one-column values queryset `values` fall, each as its first moment there, in order:
    what `queryset.datetimes(field, kind)` gives, by the same `DATE_TRUNC(kind, field AT
    TIME ZONE zone)`.

    From the last bucket found, the next is that of the first row at or after the next
    bucket's start: found in one look-up when it is that next bucket (every bucket holds
    rows), else by every row in `ZONE_SPAN` around it. Local time is not monotonic (a clock
    put back over midnight: America/St_Johns until 2011), so a row of an earlier bucket can
    come after the first one of a later bucket, but never by more than that span; nor is a
    row of the next bucket ever more than that span before the instant at which the zone
    starts it (a time skipped or repeated)."""
    if kind not in KINDS:
        raise ValueError(kind)
    unit = f"interval '1 {kind}'"
    span = f"interval '{ZONE_SPAN}'"

    def bucket(of: str) -> str:
        return f"date_trunc('{kind}', {of} AT TIME ZONE %s)"

    # Each step's bounds are columns of the walk or of the look-up before it, so that each
    # is a plain value to the next query: an index condition under the policy, where an
    # expression of a function that is not leakproof (AT TIME ZONE) is not.
    steps = f"""
        walk(bucket, next_bucket, next_at, low_at) AS (
            SELECT '-infinity'::timestamp, '-infinity'::timestamp,
                   '-infinity'::timestamptz, '-infinity'::timestamptz
          UNION ALL
            SELECT found.bucket, found.bucket + {unit},
                   (found.bucket + {unit}) AT TIME ZONE %s,
                   (found.bucket + {unit}) AT TIME ZONE %s - {span}
              FROM walk
             CROSS JOIN LATERAL (
                    SELECT min(value) AS value, coalesce(min(value), walk.next_at) + {span} AS until
                      FROM (SELECT value FROM listed WHERE value >= walk.next_at
                             ORDER BY value LIMIT 1) earliest
                   ) candidate
             CROSS JOIN LATERAL (
                    SELECT CASE WHEN {bucket("candidate.value")} = walk.next_bucket
                                THEN walk.next_bucket
                                ELSE (SELECT min({bucket("value")}) FROM listed
                                       WHERE value >= walk.low_at AND value <= candidate.until
                                         AND {bucket("value")} > walk.bucket)
                           END AS bucket
                    OFFSET 0
                   ) found
             WHERE walk.bucket IS NOT NULL
        )
        SELECT bucket FROM walk WHERE bucket > '-infinity' ORDER BY bucket
    """
    # Every parameter of the steps is the zone's name.
    zone = timezone.get_current_timezone_name()
    starts = _walked(values, steps, (zone,) * steps.count("%s"))
    return [timezone.make_aware(start) for start in starts]
