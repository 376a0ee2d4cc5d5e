"""The lists paged by cursor (interactions, audit logs) read a cursor a client altered as
a 400 naming `cursor`, never a server error, and a date time position in UTC: one with
an offset past ±15:59, which Python reads and PostgreSQL refuses, was a 500."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.factories import api_client
from tests.leads.factories import InteractionFactory, make_lead

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/interactions/", "/api/v1/audit-logs/"]


def _cursor(**tokens) -> str:
    return base64.b64encode(urlencode(tokens).encode()).decode()


def _position(link: str) -> str:
    encoded = parse_qs(urlparse(link).query)["cursor"][0]
    return parse_qs(base64.b64decode(encoded).decode())["p"][0]


@pytest.fixture
def interactions(org_a):
    lead = make_lead(org_a, company={"name": "Drip Drop Plumbing", "business_type": "plumber"})
    return [InteractionFactory(organization=org_a, lead=lead) for _ in range(3)]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "cursor",
    [
        _cursor(p="0001-01-01 00:00:00+15:59"),  # before year 1 in UTC
        _cursor(p="294277-01-01 00:00:00+00:00"),
        _cursor(p="yesterday"),
        _cursor(r="x"),
        _cursor(o="-5"),
        "abc",
    ],
)
def test_a_tampered_cursor_is_refused_naming_it(path, cursor, org_a, admin_a, interactions):
    response = api_client(admin_a, org_a).get(path, {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["details"]) == ["cursor"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("offset", ["+19:24", "-23:59"])
def test_a_position_in_an_offset_postgresql_refuses_is_read_in_utc(
    path, offset, org_a, admin_a, interactions
):
    client = api_client(admin_a, org_a)
    response = client.get(path, {"cursor": _cursor(p=f"2026-12-06 00:00:00{offset}")})
    assert response.status_code == 200, response.content


def test_a_position_given_in_another_offset_reads_the_same_page(org_a, admin_a, interactions):
    client = api_client(admin_a, org_a)
    first = client.get("/api/v1/interactions/", {"page_size": 1}).json()
    followed = client.get(first["next"]).json()
    position = dt.datetime.fromisoformat(_position(first["next"]))
    elsewhere = position.astimezone(dt.timezone(dt.timedelta(hours=19, minutes=24)))
    shifted = client.get(
        "/api/v1/interactions/", {"page_size": 1, "cursor": _cursor(p=elsewhere.isoformat())}
    )
    assert shifted.status_code == 200, shifted.content
    assert shifted.json()["results"] == followed["results"]
    assert len(followed["results"]) == 1
