"""The start-up check refuses roles that could bypass RLS."""

import pytest
from django.core.checks import Error
from django.db import connection

from smartweb.checks import check_database_role
from tests.conftest import _as_owner

pytestmark = pytest.mark.django_db(transaction=True)


def test_runtime_role_passes():
    assert [e for e in check_database_role() if isinstance(e, Error)] == []


def test_owner_of_an_unforced_rls_table_is_refused():
    with _as_owner():
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE unforced_probe (id int); "
                "ALTER TABLE unforced_probe ENABLE ROW LEVEL SECURITY"
            )
        try:
            errors = check_database_role()
            assert [e.id for e in errors] == ["smartweb.E002"]
            assert "unforced_probe" in errors[0].msg
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE unforced_probe")


def test_owner_role_with_everything_forced_passes():
    with _as_owner():
        assert [e for e in check_database_role() if isinstance(e, Error)] == []
