"""`json` values arrive decoded on the application's connections, by orjson
(smartweb.dbjson), with the values the standard library gives; `jsonb` is left to Django."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from smartweb import dbjson

pytestmark = pytest.mark.django_db

# What listed sub-selects hold: ids, text with any characters, small numbers, nesting.
SAMPLE = {
    "id": "4a3c1a4e-3f0a-4b8e-9a57-2f1e0e5b7c10",
    "name": 'Zoë\'s "Drip" & Drop \u2014 \U0001f527',
    "score": -2147483648,
    "share": 0.125,
    "tags": [{"name": "hot"}, None, True],
}


def test_a_json_value_is_decoded_by_orjson_as_the_standard_library_would():
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::json", [json.dumps(SAMPLE)])
        (value,) = cursor.fetchone()
        loader = cursor.cursor.adapters.get_loader(114, 0)  # json, text format
    assert value == SAMPLE == json.loads(json.dumps(SAMPLE))
    assert loader is dbjson.JsonLoader


def test_jsonb_is_still_left_to_django_fields():
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb", [json.dumps(SAMPLE)])
        assert isinstance(cursor.fetchone()[0], str)
