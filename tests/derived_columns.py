"""Columns the database keeps from other rows (a lead's listed tags, a deal's lead name):
read as stored, and compared with the value recomputed from their sources."""

from __future__ import annotations

from django.db import connection

from smartweb import listing
from smartweb.tenancy.context import tenant_context


def disagreeing(comparison_sql: str, *organizations) -> list:
    """Rows of `comparison_sql` (id, kept value, recomputed value), soft-deleted ones too,
    whose kept value is not the recomputed one, in each organization's context (each must
    have rows, or the comparison proves nothing)."""
    wrong = []
    for organization in organizations:
        with tenant_context(organization), connection.cursor() as cursor:
            cursor.execute(comparison_sql)
            rows = cursor.fetchall()
            assert rows
            wrong += [row for row in rows if row[1] != row[2]]
    return wrong


def kept(row, column: str):
    """The stored value of `column`, which Django does not know, for a model row."""
    table = connection.ops.quote_name(row._meta.db_table)
    selected = listing.kept_column(type(row), column)
    with tenant_context(row.organization_id), connection.cursor() as cursor:
        cursor.execute(f"SELECT {selected} FROM {table} WHERE id = %s", [row.pk])
        return cursor.fetchone()[0]


def lead_rows_written() -> tuple[int, int]:
    """Lead rows inserted and updated so far in this transaction: a kept column written
    with its row, not by a second write of it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'leads_lead'"
        )
        return cursor.fetchone()
