"""The API's JSON renderer (smartweb.api.renderers) writes the bytes DRF's renderer
writes: every list endpoint and some of its rows on the generated data, as an admin and
as a rep; and the values orjson does not write as DRF does, each sent to DRF's steps."""

from __future__ import annotations

import datetime
import decimal
import json
import math
import uuid
import zoneinfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers as drf_renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from bench import run as bench_run
from smartweb.api.renderers import JSONRenderer
from tests.perf.test_row_reading import ROUTES

DRF = drf_renderers.JSONRenderer()
OURS = JSONRenderer()


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ["admin", "rep"])
@pytest.mark.parametrize("prefix", [prefix for prefix, _ in ROUTES])
def test_every_list_and_its_rows_are_drfs_bytes(prefix, actor, params):
    client = bench_run.api_clients(params)[actor]
    response = client.get(f"/api/v1/{prefix}/?page_size=100")
    assert response.content == DRF.render(response.data), prefix
    rows = response.data.get("results", []) if isinstance(response.data, dict) else []
    for row in rows[:3]:
        detail = client.get(f"/api/v1/{prefix}/{row['id']}/")
        if detail.status_code == 404:  # a list without details
            continue
        assert detail.content == DRF.render(detail.data), (prefix, row["id"])


BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
VALUES = {
    "text": 'Müller & Söhne — “quoted” "\\ \n\t\x00\x1f\x7f 日本 🚀',
    "separators": "line\u2028paragraph\u2029end",
    "numbers": [0, -1, 2**63 - 1, -(2**63), 0.5, 1234.5678, -0.0, 1e15, 0.0001],
    "decimal": decimal.Decimal("1234.50"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "utc": datetime.datetime(2026, 12, 5, 4, 30, 15, 123456, tzinfo=datetime.UTC),
    "berlin": datetime.datetime(2026, 7, 1, 9, 0, tzinfo=BERLIN),
    "naive": datetime.datetime(2026, 1, 2, 3, 4, 5),  # noqa: DTZ001 - as DRF meets one
    "date": datetime.date(2026, 2, 28),
    "time": datetime.time(13, 45, 7, 500),
    "duration": datetime.timedelta(days=1, seconds=30),
    "lazy": gettext_lazy("This field is required."),
    "error": ErrorDetail("Not found.", code="not_found"),
    "set": {3},
    "bytes": b"raw",
    "nested": ReturnDict(
        {"rows": ReturnList([{"a": None, "b": True}], serializer=None)}, serializer=None
    ),
    "empty": [{}, [], ""],
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_each_kind_of_value_is_written_as_drf_writes_it(name):
    data = {"value": VALUES[name], "\u2028key": 1}
    assert OURS.render(data) == DRF.render(data)


@pytest.mark.parametrize(
    "data",
    [
        {"big": 2**64},  # beyond 64 bits
        {1: "a key that is not text"},
        ["\ud800"],  # a lone surrogate: refused by both
    ],
)
def test_what_orjson_refuses_is_drfs_to_write(data):
    try:
        expected = DRF.render(data)
    except Exception as exc:  # noqa: BLE001 - the same refusal, whichever it is
        with pytest.raises(type(exc)):
            OURS.render(data)
        return
    assert OURS.render(data) == expected


def test_pretty_printing_and_nothing_are_drfs():
    data = {"a": [1, {"b": "c"}]}
    media = "application/json; indent=4"
    assert OURS.render(data, media) == DRF.render(data, media) and b"\n    " in OURS.render(
        data, media
    )
    assert OURS.render(None) == b""


def test_an_aware_time_is_refused_as_drf_refuses_it():
    with pytest.raises(ValueError):
        DRF.render({"t": datetime.time(1, tzinfo=datetime.UTC)})
    with pytest.raises(ValueError):
        OURS.render({"t": datetime.time(1, tzinfo=datetime.UTC)})


def test_the_two_documented_differences_keep_the_number():
    """Floats below 1e-4 or from 1e16 are written differently but read back the same; a
    NaN, which DRF refuses, is written null (no field of the API can hold one)."""
    for number in (1e-5, 1.5e-7, 1e16, -2.5e300):
        assert json.loads(OURS.render([number])) == [number]
    assert OURS.render([math.nan]) == b"[null]"
