"""History tables index what they are read by, and nothing else: each index costs every
version saved (smartweb.models.TenantHistoricalRecords)."""

import pytest
from django.apps import apps
from django.db import connection

from compliance.subject import history_model

pytestmark = pytest.mark.django_db


def _leading_columns(table: str) -> set[str]:
    """The first column of each index of `table` but its primary key."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def _history_tables() -> list[str]:
    return sorted(
        historical._meta.db_table
        for model in apps.get_models()
        if (historical := history_model(model)) is not None
    )


def test_no_history_table_indexes_its_organization_or_deleter():
    """The organization leads every history table's primary key; who deleted a row is
    read only with that row."""
    tables = _history_tables()
    assert len(tables) > 20
    for table in tables:
        assert not _leading_columns(table) & {"organization_id", "deleted_by_id"}, table


@pytest.mark.parametrize(
    "table, looked_up_by",
    [
        ("leads_historicalinteraction", {"lead_id"}),
        ("crm_historicalopportunity", {"lead_id"}),
        ("crm_historicaltask", {"lead_id", "opportunity_id", "ai_call_id"}),
    ],
)
def test_busy_history_tables_index_what_they_are_read_by(table, looked_up_by):
    """By the row's id, by date (retention, versions), by the acting user (whose deletion
    clears it) and by what a subject's data is found by (compliance.subject)."""
    assert _leading_columns(table) == {"id", "history_date", "history_user_id", *looked_up_by}


def test_no_history_table_holds_a_secret():
    """A model's encrypted fields (`encrypted_fields`) have no copy in its history."""
    kept = {
        (model.__name__, name)
        for model in apps.get_models()
        if (historical := history_model(model)) is not None
        for name in getattr(model, "encrypted_fields", ())
        if name in {field.name for field in historical._meta.fields}
    }
    assert kept == set()
