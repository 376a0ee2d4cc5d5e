"""The API's JSON on hostile values, fixed so that a faster request path cannot change it.

Every list endpoint, and up to three of its rows' details, as an organization admin on
factory data holding the values a shortcut would get wrong: text with quotes, escapes,
control characters, emoji and U+2028/U+2029; Decimals; times in another zone; None; a
lead without tags. Each answer is compared field by field and byte for byte with what
DRF's own field walk and DRF's renderer write for the same rows, and the hostile values
are pinned as the API writes them today.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import zoneinfo

import pytest
from rest_framework import renderers as drf_renderers

from accounts.invitations import invitation_create
from accounts.models import Role
from accounts.services import team_create
from leads.lead_forms import lead_form_create
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm
from tests.factories import api_client, make_member, make_organization, org_admin, session_client
from tests.leads.factories import EnrichmentFactory, InteractionFactory, TagFactory
from tests.perf.test_row_reading import ROUTES, _assert_same, _both

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
SEPARATORS = "line\u2028paragraph\u2029end"
TEXT = 'Zoë “Ω” O\'Brien "q" \\ \t 日本 🚀 ' + SEPARATORS
FOLLOW_UP = dt.datetime(2026, 7, 1, 9, 0, 30, 123456, tzinfo=BERLIN)
DRF = drf_renderers.JSONRenderer()


@pytest.fixture
def hostile(db):
    """One organization with a row of every listed kind, each holding hostile values."""
    organization = make_organization(name="Müller & Söhne \u2028 Org")
    admin = org_admin(organization)
    rep = make_member(organization, "sales_rep", full_name=TEXT)
    with tenant_context(organization):
        tag = TagFactory(organization=organization, name="Ünïcode 🚀\u2029tag", color="#a1b2c3")
        team = team_create(name=TEXT, manager=rep, acting_user=None)
        invitation_create(
            email="zoe@example.test",
            role=Role.objects.get(slug="sales_rep"),
            team=team,
            acting_user=None,
            link=lambda token: f"http://testserver/invitations/{token}/",
        )
        lead_form_create(acting_user=None, data={"name": TEXT})
    session_client(admin)  # a signed-in session of the admin's, which me/sessions lists
    tagged = crm.lead(
        organization,
        company_name="Zoë’s Plumbing\u2028Ltd",
        notes=TEXT,
        contact_title=SEPARATORS,
        next_follow_up_at=FOLLOW_UP,
        assigned_to=rep,
        tags=[tag],
    )
    untagged = crm.lead(organization, notes="", contact_title="")
    InteractionFactory(
        organization=organization,
        lead=tagged,
        subject=TEXT,
        content=SEPARATORS,
        occurred_at=FOLLOW_UP,
        ai_analysis={"summary": TEXT, "confidence": 0.75, "scores": [1, 2.5, None]},
    )
    EnrichmentFactory(organization=organization, lead=untagged, data={"note": TEXT, "n": 1.25})
    deal = crm.opportunity(organization, owner=rep, value=decimal.Decimal("1234.50"))
    proposal = crm.proposal(
        organization,
        deal,
        lines=[crm.line(description=TEXT, quantity="2.5", unit_price="999.99", discount="10")],
    )
    crm.accepted(organization, proposal)
    crm.ai_call(organization, for_lead=untagged, in_campaign=crm.campaign(organization, name=TEXT))
    crm.task(organization, title=TEXT, description=SEPARATORS, due_at=FOLLOW_UP, lead=tagged)
    return {
        "client": api_client(admin, organization),
        "tagged": tagged,
        "untagged": untagged,
        "deal": deal,
    }


def test_every_list_and_its_rows_answer_as_drf_writes_them(hostile, monkeypatch):
    client = hostile["client"]
    empty = []
    for prefix, _ in ROUTES:
        url = f"/api/v1/{prefix}/?page_size=100"
        listed, stock = _both(client, url, monkeypatch)
        _assert_same(listed, stock, url)
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        assert response.content == DRF.render(response.data), url
        data = response.data
        rows = data.get("results", data) if isinstance(data, dict) else []
        if not rows:
            empty.append(prefix)
        for row in rows[:3]:
            detail = f"/api/v1/{prefix}/{row['id']}/"
            answered, stock = _both(client, detail, monkeypatch)
            if client.get(detail).status_code == 404:  # a list without details
                continue
            _assert_same(answered, stock, detail)
            assert answered == DRF.render(json.loads(answered)), detail
    assert not empty, f"lists without a row (the fixture misses their kind): {empty}"


def test_the_hostile_values_are_written_as_the_api_writes_them(hostile):
    client = hostile["client"]
    leads = client.get("/api/v1/leads/?page_size=100")
    page = json.loads(leads.content)
    # The tagged and untagged leads, and the deal's.
    assert (page["count"], page["next"], page["previous"], page["count_capped"]) == (
        3,
        None,
        None,
        False,
    )
    by_id = {row["id"]: row for row in page["results"]}
    tagged, untagged = by_id[str(hostile["tagged"].pk)], by_id[str(hostile["untagged"].pk)]
    # U+2028/2029 escaped in the bytes, the text itself intact.
    assert b"line\\u2028paragraph\\u2029end" in leads.content
    assert "\u2028".encode() not in leads.content and "\u2029".encode() not in leads.content
    assert tagged["notes"] == TEXT and tagged["contact_title"] == SEPARATORS
    assert tagged["company"]["name"] == "Zoë’s Plumbing\u2028Ltd"
    assert [t["name"] for t in tagged["tags"]] == ["Ünïcode 🚀\u2029tag"]
    assert tagged["assigned_to"]["full_name"] == TEXT
    # A time is written in UTC with a Z; nothing becomes a string "None" or is left out.
    assert tagged["next_follow_up_at"] == "2026-07-01T07:00:30.123456Z"
    assert untagged["tags"] == [] and untagged["assigned_to"] is None
    assert untagged["next_follow_up_at"] is None and untagged["notes"] == ""

    deal = json.loads(client.get(f"/api/v1/opportunities/{hostile['deal'].pk}/").content)
    # A Decimal as text, its places kept: the accepted proposal's 2.5 × 999.99 less 10%.
    assert deal["value"] == "2249.98"

    lines = json.loads(client.get("/api/v1/proposal-line-items/").content)["results"]
    assert (lines[0]["quantity"], lines[0]["unit_price"]) == ("2.50", "999.99")

    task = json.loads(client.get("/api/v1/tasks/").content)["results"][0]
    assert (task["title"], task["due_at"]) == (TEXT, "2026-07-01T07:00:30.123456Z")

    interactions = json.loads(client.get("/api/v1/interactions/").content)["results"]
    (logged,) = [row for row in interactions if row["subject"] == TEXT]
    assert logged["ai_analysis"] == {"summary": TEXT, "confidence": 0.75, "scores": [1, 2.5, None]}
    assert logged["occurred_at"] == "2026-07-01T07:00:30.123456Z"
