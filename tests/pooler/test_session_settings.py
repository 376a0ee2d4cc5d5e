"""Every session of the application runs without JIT compilation (ADR 0036): a direct
connection sets it in libpq's `options`, the pooler on each server connection it opens
(`connect_query`); `make test-pooled` runs this test through the pooler."""

import pytest
from django.db import connection

from smartweb import pooler

pytestmark = pytest.mark.django_db


def test_the_application_session_compiles_no_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_the_pooler_sets_the_bounds_and_jit_off():
    query = pooler._connect_query()
    assert "SET statement_timeout = 15000" in query and "SET jit = off" in query
