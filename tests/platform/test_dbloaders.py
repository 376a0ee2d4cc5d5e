"""How the application's connections decode values (smartweb.dbloaders): `json` by orjson,
with the values the standard library gives, `jsonb` left to Django; `timestamptz` by
psycopg's compiled loader, in UTC as Django's own loader gives it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection

from leads.models import Lead
from smartweb import dbloaders
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

# What listed sub-selects hold: ids, text with any characters, small numbers, nesting.
SAMPLE = {
    "id": "4a3c1a4e-3f0a-4b8e-9a57-2f1e0e5b7c10",
    "name": 'Zoë\'s "Drip" & Drop \u2014 \U0001f527',
    "score": -2147483648,
    "share": 0.125,
    "tags": [{"name": "hot"}, None, True],
}


def _loader(oid: int):
    with connection.cursor() as cursor:
        return cursor.cursor.adapters.get_loader(oid, 0)  # text format


def test_a_json_value_is_decoded_by_orjson_as_the_standard_library_would():
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::json", [json.dumps(SAMPLE)])
        (value,) = cursor.fetchone()
    assert value == SAMPLE == json.loads(json.dumps(SAMPLE))
    assert _loader(114) is dbloaders.JsonLoader


def test_jsonb_is_still_left_to_django_fields():
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb", [json.dumps(SAMPLE)])
        assert isinstance(cursor.fetchone()[0], str)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-30 17:45:12.123456+00", dt.datetime(2026, 11, 30, 17, 45, 12, 123456, dt.UTC)),
        ("2026-03-29 01:30:00+02", dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)),
        ("1999-12-31 23:59:59.999999-11:30", dt.datetime(2000, 1, 1, 11, 29, 59, 999999, dt.UTC)),
    ],
)
def test_a_timestamp_arrives_in_utc_by_the_compiled_loader(text, expected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [text])
        (value,) = cursor.fetchone()
    assert value == expected
    assert value.tzinfo is dt.UTC
    assert _loader(dbloaders.TIMESTAMPTZ_OID) is dbloaders.UTCTimestamptzLoader


def test_a_model_reads_back_the_instant_it_saved(org_a):
    lead = make_lead(org_a)
    moment = dt.datetime(2026, 7, 1, 12, 0, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    with tenant_context(org_a.id):
        Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=moment)
        stored = Lead.objects.get(pk=lead.pk).next_follow_up_at
    assert stored == moment
    assert stored.tzinfo is dt.UTC
