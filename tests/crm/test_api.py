"""The CRM API: workflows end to end, money, the generated column, the board and the
forecast, task lists, and bad input that writes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.choices import ContractStatus
from crm.models import Contract, Opportunity, PipelineStage, Proposal, Task
from leads.choices import LeadStatus
from leads.models import Company, Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import api_client
from webhooks.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _count(organization, model):
    with tenant_context(organization):
        return model.all_objects.count()


def _stage(organization, **lookup):
    with tenant_context(organization):
        return PipelineStage.objects.get(**lookup)


# --- opportunities --------------------------------------------------------------------


def test_lead_to_customer_through_the_api(org_a, admin_a, rep_a):
    lead = factories.qualified_lead(org_a, assigned_to=rep_a)
    client = api_client(admin_a, org_a)
    created = client.post(
        "/api/v1/opportunities/",
        {"lead": str(lead.pk), "value": "3000.00", "expected_close_date": "2026-12-15"},
    )
    assert created.status_code == 201, created.content
    opportunity = created.json()
    assert opportunity["stage_name"] == "New" and opportunity["probability"] == "10.00"
    assert opportunity["weighted_value"] == "300.00"
    assert opportunity["owner"]["id"] == str(rep_a.pk)

    proposal = client.post(
        "/api/v1/proposals/",
        {
            "opportunity": opportunity["id"],
            "valid_until": "2099-01-31",
            "line_items": [
                {
                    "description": "Website",
                    "quantity": "1",
                    "unit_price": "2500.00",
                    "tax_rate": "20",
                },
                {
                    "description": "Logo",
                    "quantity": "2",
                    "unit_price": "125.50",
                    "discount_percent": "10",
                },
            ],
        },
    )
    assert proposal.status_code == 201, proposal.content
    body = proposal.json()
    assert body["subtotal"] == "2751.00" and body["discount_total"] == "25.10"
    assert body["tax_total"] == "500.00" and body["total"] == "3225.90"
    assert [line["total"] for line in body["line_items"]] == ["3000.00", "225.90"]

    assert client.post(f"/api/v1/proposals/{body['id']}/send/").status_code == 200
    accepted = client.post(f"/api/v1/proposals/{body['id']}/accept/")
    assert accepted.status_code == 200, accepted.content
    contract = accepted.json()["contract"]
    assert contract["status"] == "draft" and contract["value"] == "3225.90"
    assert accepted.json()["proposal"]["status"] == "accepted"

    signed = client.post(
        f"/api/v1/contracts/{contract['id']}/sign/",
        {"signer_name": "Dana Drip", "signer_email": "dana@example.test"},
    )
    assert signed.status_code == 200, signed.content
    assert signed.json()["status"] == "signed"
    won = client.get(f"/api/v1/opportunities/{opportunity['id']}/").json()
    assert won["status"] == "won" and won["stage_name"] == "Won"
    assert won["value"] == "3225.90" and won["weighted_value"] == "3225.90"
    with tenant_context(org_a):
        assert Company.objects.get(pk=lead.company_id).is_customer
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CONVERTED


def test_the_convert_action_is_the_same_workflow(org_a, admin_a):
    lead = factories.qualified_lead(org_a)
    response = api_client(admin_a, org_a).post(
        "/api/v1/opportunities/convert/", {"lead": str(lead.pk)}
    )
    assert response.status_code == 201
    assert response.json()["name"].startswith("Website for ")


def test_converting_an_unqualified_lead_is_409_with_the_reason(org_a, admin_a):
    lead = factories.lead(org_a)
    response = api_client(admin_a, org_a).post("/api/v1/opportunities/", {"lead": str(lead.pk)})
    assert response.status_code == 409
    error = response.json()["error"]
    assert "qualified" in error["message"] and error["details"]["allowed"] == ["qualified"]
    assert _count(org_a, Opportunity) == 0


@pytest.mark.parametrize("value", ["-1.00", "lots", "1e400", "12345678901234.00", "NaN", "0.001"])
def test_bad_money_is_400_and_writes_nothing(org_a, admin_a, value):
    lead = factories.qualified_lead(org_a)
    response = api_client(admin_a, org_a).post(
        "/api/v1/opportunities/", {"lead": str(lead.pk), "value": value}
    )
    assert response.status_code == 400
    assert "value" in response.json()["error"]["details"]
    assert _count(org_a, Opportunity) == 0


def test_references_to_another_organization_are_400(org_a, org_b, admin_a, admin_b):
    lead_b = factories.qualified_lead(org_b)
    lead_a = factories.qualified_lead(org_a)
    client = api_client(admin_a, org_a)
    assert client.post("/api/v1/opportunities/", {"lead": str(lead_b.pk)}).status_code == 400
    response = client.post(
        "/api/v1/opportunities/", {"lead": str(lead_a.pk), "owner": str(admin_b.pk)}
    )
    assert response.status_code == 400 and "owner" in response.json()["error"]["details"]
    assert _count(org_a, Opportunity) == 0 and _count(org_b, Opportunity) == 0


def test_weighted_value_is_fresh_right_after_an_update(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    response = client.patch(f"/api/v1/opportunities/{opp_a.pk}/", {"value": "1234.56"})
    assert response.status_code == 200, response.content
    assert response.json()["weighted_value"] == "123.46"  # 1234.56 × 10 % = 123.456
    response = client.patch(f"/api/v1/opportunities/{opp_a.pk}/", {"probability": "33.33"})
    assert response.json()["weighted_value"] == "411.48"  # 1234.56 × 33.33 % = 411.479…
    with tenant_context(org_a):
        assert Opportunity.objects.get(pk=opp_a.pk).weighted_value == Decimal("411.48")


def test_stage_and_status_change_only_by_workflow(org_a, admin_a, opp_a):
    won = _stage(org_a, is_won=True)
    response = api_client(admin_a, org_a).patch(
        f"/api/v1/opportunities/{opp_a.pk}/", {"stage": str(won.pk), "status": "won"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "open" and response.json()["stage_name"] == "New"


def test_move_stage(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    url = f"/api/v1/opportunities/{opp_a.pk}/move-stage/"
    negotiation = _stage(org_a, name="Negotiation")
    moved = client.post(url, {"stage": str(negotiation.pk)})
    assert moved.status_code == 200
    assert moved.json()["probability"] == "75.00" and moved.json()["weighted_value"] == "750.00"
    lost = _stage(org_a, is_lost=True)
    assert client.post(url, {"stage": str(lost.pk)}).status_code == 400  # no reason
    closed = client.post(url, {"stage": str(lost.pk), "lost_reason": "Budget"})
    assert closed.json()["status"] == "lost"
    refused = client.post(url, {"stage": str(negotiation.pk)})
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["allowed"] == ["reopen"]
    reopened = client.post(url, {"stage": str(negotiation.pk), "reopen": True, "probability": "60"})
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open" and reopened.json()["probability"] == "60.00"


def _written(organization, opportunity) -> tuple[int, int]:
    """The deal's history rows and the organization's outbound events."""
    with tenant_context(organization):
        return (
            Opportunity.history.filter(id=opportunity.pk).count(),
            OutboxEvent.objects.count(),
        )


def test_a_move_retried_into_the_stage_the_deal_is_in_writes_nothing(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    url = f"/api/v1/opportunities/{opp_a.pk}/move-stage/"
    negotiation = _stage(org_a, name="Negotiation")
    moved = client.post(url, {"stage": str(negotiation.pk)})
    assert moved.status_code == 200, moved.content
    written = _written(org_a, opp_a)
    again = client.post(url, {"stage": str(negotiation.pk)}, HTTP_IF_MATCH=moved["ETag"])
    # Answered as the move was, with the deal as it is: same version, nothing written.
    assert again.status_code == 200, again.content
    assert again.json() == moved.json() and again["ETag"] == moved["ETag"]
    assert _written(org_a, opp_a) == written
    # A probability it does not have yet is still set.
    changed = client.post(url, {"stage": str(negotiation.pk), "probability": "60"})
    assert changed.status_code == 200 and changed.json()["probability"] == "60.00"
    assert _written(org_a, opp_a)[0] == written[0] + 1


def test_a_close_retried_into_the_lost_stage_is_answered_as_the_close_was(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    url = f"/api/v1/opportunities/{opp_a.pk}/move-stage/"
    lost = {"stage": str(_stage(org_a, is_lost=True).pk), "lost_reason": "Budget"}
    closed = client.post(url, lost)
    assert closed.status_code == 200 and closed.json()["status"] == "lost"
    written = _written(org_a, opp_a)
    again = client.post(url, lost)
    assert again.status_code == 200, again.content
    assert again.json() == closed.json()
    assert _written(org_a, opp_a) == written
    # Reopening into the closed stage it is in is still refused, nothing written.
    reopened = client.post(url, {**lost, "reopen": True})
    assert reopened.status_code == 400
    assert list(reopened.json()["error"]["details"]) == ["stage"]
    assert _written(org_a, opp_a) == written


def test_move_to_a_stage_of_another_pipeline_or_organization_is_400(org_a, org_b, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    other = client.post("/api/v1/pipelines/", {"name": "Renewals"}).json()
    url = f"/api/v1/opportunities/{opp_a.pk}/move-stage/"
    assert client.post(url, {"stage": other["stages"][1]["id"]}).status_code == 400
    stage_b = _stage(org_b, name="Discovery")
    assert client.post(url, {"stage": str(stage_b.pk)}).status_code == 400
    with tenant_context(org_a):
        assert Opportunity.objects.get(pk=opp_a.pk).stage.name == "New"


def test_board_groups_by_stage_with_counts_and_sums_without_n_plus_one(org_a, admin_a, rep_a):
    client = api_client(admin_a, org_a)
    pipeline = client.get("/api/v1/pipelines/").json()["results"][0]
    url = f"/api/v1/pipelines/{pipeline['id']}/board/"
    factories.opportunity(org_a, owner=rep_a, value=Decimal("1000.00"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for value in ("2000.00", "500.50", "99.99"):
        factories.opportunity(org_a, owner=rep_a, value=Decimal(value))
    with CaptureQueriesContext(connection) as many:
        board = client.get(url).json()
    assert len(many) == len(few)
    new = next(column for column in board["stages"] if column["name"] == "New")
    assert new["count"] == 4 and len(new["opportunities"]) == 4
    # a card names its stage from its column, without reading it again
    assert {card["stage_name"] for card in new["opportunities"]} == {"New"}
    assert new["totals"] == [{"currency": "EUR", "value": "3600.49", "weighted_value": "360.05"}]
    assert [c["name"] for c in board["stages"]][-2:] == ["Won", "Lost"]


def test_board_shows_each_stages_biggest_cards_first_within_the_users_scope(
    org_a, admin_a, rep_a, rep_a2
):
    for value in ("10.00", "300.00", "20.00"):
        factories.opportunity(org_a, owner=rep_a, value=Decimal(value))
    factories.opportunity(org_a, owner=rep_a2, value=Decimal("999.00"))
    pipeline = api_client(admin_a, org_a).get("/api/v1/pipelines/").json()["results"][0]
    url = f"/api/v1/pipelines/{pipeline['id']}/board/"

    def new_column(user, query=""):
        board = api_client(user, org_a).get(url + query).json()
        return next(column for column in board["stages"] if column["name"] == "New")

    everyone = new_column(admin_a, "?per_stage=2")
    assert everyone["count"] == 4
    assert [card["value"] for card in everyone["opportunities"]] == ["999.00", "300.00"]
    own = new_column(rep_a)
    assert own["count"] == 3
    assert [card["value"] for card in own["opportunities"]] == ["300.00", "20.00", "10.00"]


def test_listed_opportunities_name_their_lead_and_stage_as_their_detail_does(org_a, admin_a, rep_a):
    deal = factories.opportunity(org_a, owner=rep_a, value=Decimal("700.00"))
    client = api_client(admin_a, org_a)
    listed = client.get("/api/v1/opportunities/?ordering=-weighted_value").json()["results"]
    with tenant_context(org_a):
        company = Opportunity.objects.get(pk=deal.pk).lead.company.name
    assert listed[0]["lead_name"] == company and listed[0]["stage_name"] == "New"
    assert listed[0] == client.get(f"/api/v1/opportunities/{deal.pk}/").json()


def test_opportunity_search_by_name_or_lead_finds_only_this_organizations(org_a, org_b, admin_a):
    by_company = factories.opportunity(
        org_a, lead=factories.qualified_lead(org_a, company_name="Ashbrook Roofing")
    )
    by_name = factories.opportunity(org_a, name="Ashbrook extension site")
    factories.opportunity(org_a, name="Unrelated")
    factories.opportunity(
        org_b, lead=factories.qualified_lead(org_b, company_name="Ashbrook Roofing")
    )
    client = api_client(admin_a, org_a)
    with CaptureQueriesContext(connection) as captured:
        found = client.get("/api/v1/opportunities/?search=ashbrook").json()
    assert {row["id"] for row in found["results"]} == {str(by_company.pk), str(by_name.pk)}
    assert found["count"] == 2
    searches = [q for q in captured.captured_queries if "smartweb_search_leads" in q["sql"]]
    assert len(searches) == 1  # counted with its page
    assert client.get("/api/v1/opportunities/?search=nobody").json()["count"] == 0


def test_forecast_by_month(org_a, admin_a, rep_a, midday):
    this_month = midday.date().replace(day=15)
    factories.opportunity(
        org_a, owner=rep_a, value=Decimal("1000.00"), expected_close_date=this_month
    )
    factories.opportunity(
        org_a, owner=rep_a, value=Decimal("500.00"), expected_close_date=this_month
    )
    # a month's edges: its last day is in it, the next month's first day is not
    next_month = (this_month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    last_day = next_month - dt.timedelta(days=1)
    factories.opportunity(org_a, owner=rep_a, value=Decimal("10.00"), expected_close_date=last_day)
    factories.opportunity(
        org_a, owner=rep_a, value=Decimal("20.00"), expected_close_date=next_month
    )
    months = api_client(admin_a, org_a).get("/api/v1/opportunities/forecast/?months=3").json()
    rows = months["months"]
    assert len(rows) == 3
    assert rows[0]["month"] == this_month.strftime("%Y-%m")
    assert rows[0]["open_count"] == 3 and rows[0]["value"] == "1510.00"
    assert rows[0]["weighted_value"] == "151.00"
    assert rows[1]["month"] == next_month.strftime("%Y-%m")
    assert rows[1]["open_count"] == 1 and rows[1]["value"] == "20.00"
    assert (
        api_client(admin_a, org_a).get("/api/v1/opportunities/forecast/?months=99").status_code
        == 400
    )


# --- proposals and contracts ----------------------------------------------------------


def _proposal_body(opportunity, **fields):
    return {
        "opportunity": str(opportunity.pk),
        "line_items": [{"description": "Website", "quantity": "3", "unit_price": "333.33"}],
        **fields,
    }


@pytest.mark.parametrize(
    "change",
    [
        {"currency": "USD"},
        {"total": "1000.00"},
        {"line_items": [{"description": "X", "quantity": "1", "unit_price": "10", "total": "12"}]},
        {"line_items": [{"description": "X", "quantity": "0", "unit_price": "10"}]},
        {"line_items": [{"description": "X", "quantity": "1", "unit_price": "-10"}]},
        {
            "line_items": [
                {"description": "X", "quantity": "1", "unit_price": "10", "tax_rate": "101"}
            ]
        },
        {"line_items": []},
    ],
)
def test_bad_proposals_are_400_and_write_nothing(org_a, admin_a, opp_a, change):
    response = api_client(admin_a, org_a).post(
        "/api/v1/proposals/", _proposal_body(opp_a, **change)
    )
    assert response.status_code == 400, response.content
    assert _count(org_a, Proposal) == 0


def test_a_stated_total_that_adds_up_is_accepted(org_a, admin_a, opp_a):
    response = api_client(admin_a, org_a).post(
        "/api/v1/proposals/", _proposal_body(opp_a, total="999.99")
    )
    assert response.status_code == 201 and response.json()["total"] == "999.99"


def test_proposal_workflow_refusals_are_409(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    proposal = client.post("/api/v1/proposals/", _proposal_body(opp_a)).json()
    url = f"/api/v1/proposals/{proposal['id']}"
    refused = client.post(f"{url}/accept/")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["allowed"] == ["sent"]
    assert client.post(f"{url}/send/").status_code == 200
    assert client.patch(f"{url}/", {"title": "Changed"}).status_code == 409
    assert client.post(f"{url}/reject/", {"reason": "Too dear"}).json()["status"] == "rejected"
    assert client.post(f"{url}/accept/").status_code == 409
    assert _count(org_a, Contract) == 0


def test_a_proposal_of_a_lost_deal_cannot_be_rejected_or_accepted(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    proposal = client.post("/api/v1/proposals/", _proposal_body(opp_a)).json()
    url = f"/api/v1/proposals/{proposal['id']}"
    assert client.post(f"{url}/send/").status_code == 200
    lost = _stage(org_a, pipeline=opp_a.pipeline, is_lost=True)
    moved = client.post(
        f"/api/v1/opportunities/{opp_a.pk}/move-stage/",
        {"stage": str(lost.pk), "lost_reason": "Went elsewhere"},
    )
    assert moved.status_code == 200, moved.content
    for answer in ("reject", "accept"):
        refused = client.post(f"{url}/{answer}/", {"reason": "Too late"})
        assert refused.status_code == 409, refused.content
        assert "already lost" in refused.json()["error"]["message"]
    assert client.get(f"{url}/").json()["status"] == "sent"
    assert _count(org_a, Contract) == 0


def test_draft_proposals_are_edited_with_their_lines(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    proposal = client.post("/api/v1/proposals/", _proposal_body(opp_a)).json()
    edited = client.patch(
        f"/api/v1/proposals/{proposal['id']}/",
        {
            "line_items": [
                {"description": "Shop", "quantity": "1", "unit_price": "0.10", "tax_rate": "5"}
            ]
        },
    )
    assert edited.status_code == 200
    assert edited.json()["total"] == "0.11"  # 0.10 + 0.005 tax rounds half up
    assert len(edited.json()["line_items"]) == 1
    items = client.get(f"/api/v1/proposal-line-items/?proposal={proposal['id']}").json()
    assert items["count"] == 1 and items["results"][0]["description"] == "Shop"


WRITTEN_LINE_FIELDS = ("description", "quantity", "unit_price", "discount_percent", "tax_rate")


def test_a_proposal_s_line_items_are_read_and_written_under_one_name(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    read = client.post("/api/v1/proposals/", _proposal_body(opp_a)).json()
    url = f"/api/v1/proposals/{read['id']}/"
    # What was read goes back as it is, with one more line.
    lines = [{name: item[name] for name in WRITTEN_LINE_FIELDS} for item in read["line_items"]]
    lines.append(
        {"description": "Logo", "quantity": "1.00", "unit_price": "100.00"}
        | {"discount_percent": "0.00", "tax_rate": "0.00"}
    )
    written = client.patch(url, {"line_items": lines}, format="json")
    assert written.status_code == 200, written.content
    items = written.json()["line_items"]
    assert [{name: item[name] for name in WRITTEN_LINE_FIELDS} for item in items] == lines
    assert written.json()["total"] == "1099.99"


def test_the_former_name_of_the_lines_is_still_read(org_a, admin_a, opp_a):
    body = _proposal_body(opp_a)
    body["lines"] = body.pop("line_items")
    response = api_client(admin_a, org_a).post("/api/v1/proposals/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["total"] == "999.99"


def test_a_patched_line_without_its_quantity_is_refused_and_the_proposal_kept(
    org_a, admin_a, opp_a
):
    client = api_client(admin_a, org_a)
    proposal = client.post("/api/v1/proposals/", _proposal_body(opp_a)).json()
    response = client.patch(
        f"/api/v1/proposals/{proposal['id']}/",
        {"line_items": [{"description": "Shop", "unit_price": "0.10"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "quantity" in response.json()["error"]["details"]["line_items"]["0"]
    assert client.get(f"/api/v1/proposals/{proposal['id']}/").json() == proposal


def test_contracts_come_from_proposals_and_sign_once(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    assert client.post("/api/v1/contracts/", {"title": "X"}).status_code == 405
    proposal = factories.proposal(org_a, opp_a)
    client.post(f"/api/v1/proposals/{proposal.pk}/send/")
    contract = client.post(f"/api/v1/proposals/{proposal.pk}/accept/").json()["contract"]
    url = f"/api/v1/contracts/{contract['id']}"
    bad_dates = client.patch(f"{url}/", {"start_date": "2026-05-01", "end_date": "2026-04-01"})
    assert bad_dates.status_code == 400
    assert client.post(f"{url}/sign/", {}).status_code == 400  # who signed?
    assert client.post(f"{url}/sign/", {"signer_name": "Dana"}).status_code == 200
    again = client.post(f"{url}/sign/", {"signer_name": "Dana"})
    assert again.status_code == 409
    assert again.json()["error"]["details"]["allowed"] == ["active", "terminated"]
    active = client.post(f"{url}/set-status/", {"status": "active"})
    assert active.json()["status"] == ContractStatus.ACTIVE


# --- campaigns and calls --------------------------------------------------------------


def test_campaign_lifecycle(org_a, admin_a, provider_url):
    client = api_client(admin_a, org_a)
    created = client.post(
        "/api/v1/campaigns/",
        {
            "name": "Spring plumbers",
            "script": "Offer a website.",
            "timezone": "Europe/London",
            "calling_hours_start": "09:00",
            "calling_hours_end": "17:30",
            "calling_days": [0, 1, 2, 3, 4],
            "lead_filter": {"statuses": ["new", "qualified"], "min_score": 20},
            "daily_call_limit": 50,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    url = f"/api/v1/campaigns/{created.json()['id']}"
    refused = client.post(f"{url}/launch/")
    assert refused.status_code == 400 and "webhook_secret" in refused.json()["error"]["details"]
    secret = client.post("/api/v1/campaigns/webhook-secret/")
    assert secret.status_code == 200 and secret.json()["secret"].startswith("whsec_")
    assert client.post(f"{url}/launch/").json()["status"] == "active"
    assert client.post(f"{url}/pause/").json()["status"] == "paused"
    again = client.post(f"{url}/pause/")
    assert again.status_code == 409
    assert again.json()["error"]["details"]["allowed"] == ["active", "cancelled"]
    stats = client.get(f"{url}/stats/").json()
    assert stats["targets_remaining"] == 0 and stats["by_status"] == []


@pytest.mark.parametrize(
    "change",
    [
        {"timezone": "Nowhere/Special"},
        {"calling_hours_start": "18:00", "calling_hours_end": "09:00"},
        {"calling_days": [9]},
        {"lead_filter": {"statuses": ["dreaming"]}},
        {"lead_filter": {"unknown": 1}},
        {"daily_call_limit": 0},
        {"name": ""},
    ],
)
def test_bad_campaigns_are_400(org_a, admin_a, change):
    body = {"name": "Bad", "script": "Hi", **change}
    response = api_client(admin_a, org_a).post("/api/v1/campaigns/", body, format="json")
    assert response.status_code == 400, response.content


def test_ai_calls_are_read_only(org_a, admin_a):
    call = factories.ai_call(org_a)
    client = api_client(admin_a, org_a)
    listed = client.get("/api/v1/ai-calls/").json()
    assert (
        listed["count"] == 1 and listed["results"][0]["provider_call_id"] == call.provider_call_id
    )
    assert client.post("/api/v1/ai-calls/", {}).status_code == 405
    assert client.patch(f"/api/v1/ai-calls/{call.pk}/", {"summary": "x"}).status_code == 405


# --- tasks ----------------------------------------------------------------------------


def test_task_lists_mine_overdue_and_due_today(org_a, rep_a, admin_a, midday):
    # The clock is pinned (tests.clock): "later today" is so for the lists too.
    now = midday
    overdue = factories.task(org_a, assigned_to=rep_a, due_at=now - timezone.timedelta(days=2))
    today = factories.task(
        org_a, assigned_to=rep_a, due_at=now.replace(hour=23, minute=59, second=0)
    )
    factories.task(org_a, assigned_to=admin_a, due_at=now - timezone.timedelta(hours=1))
    done = factories.task(org_a, assigned_to=rep_a, due_at=now - timezone.timedelta(days=3))
    client = api_client(rep_a, org_a)
    assert client.post(f"/api/v1/tasks/{done.pk}/complete/").status_code == 200
    mine = {t["id"] for t in client.get("/api/v1/tasks/mine/").json()["results"]}
    assert mine == {str(overdue.pk), str(today.pk)}
    late = client.get("/api/v1/tasks/overdue/").json()["results"]
    assert [t["id"] for t in late] == [str(overdue.pk)] and late[0]["is_overdue"]
    due = {t["id"] for t in client.get("/api/v1/tasks/due-today/").json()["results"]}
    assert str(today.pk) in due and str(done.pk) not in due
    again = client.post(f"/api/v1/tasks/{done.pk}/complete/")
    assert again.status_code == 409


def test_tasks_create_complete_and_soft_delete(org_a, admin_a, opp_a):
    client = api_client(admin_a, org_a)
    created = client.post(
        "/api/v1/tasks/",
        {"title": "Send examples", "type": "email", "opportunity": str(opp_a.pk)},
    )
    assert created.status_code == 201, created.content
    task = created.json()
    assert task["lead"] == str(opp_a.lead_id) and task["assigned_to"] == str(admin_a.pk)
    done = client.patch(f"/api/v1/tasks/{task['id']}/", {"status": "done"}).json()
    assert done["completed_at"] is not None
    assert client.delete(f"/api/v1/tasks/{task['id']}/").status_code == 204
    assert client.get(f"/api/v1/tasks/{task['id']}/").status_code == 404
    assert client.post(f"/api/v1/tasks/{task['id']}/restore/").status_code == 200
    assert client.get(f"/api/v1/tasks/{task['id']}/").status_code == 200


def test_a_manager_restores_the_tasks_of_their_team_and_no_others(org_a, manager_a, rep_a, rep_a2):
    """Deleting and restoring are the same right, at the same scope: a task of the team
    comes back; one outside it stays a 404, in the trash."""
    client = api_client(manager_a, org_a)
    ours, theirs = (factories.task(org_a, assigned_to=user) for user in (rep_a, rep_a2))
    with tenant_context(org_a):
        Task.objects.filter(pk__in=[ours.pk, theirs.pk]).delete()

    restored = client.post(f"/api/v1/tasks/{ours.pk}/restore/")
    refused = client.post(f"/api/v1/tasks/{theirs.pk}/restore/")

    assert restored.status_code == 200, restored.content
    assert restored.json()["id"] == str(ours.pk)
    assert refused.status_code == 404
    with tenant_context(org_a):
        assert Task.all_objects.get(pk=theirs.pk).deleted_at is not None


def test_tasks_refuse_foreign_references(org_a, org_b, admin_a, admin_b, opp_b):
    client = api_client(admin_a, org_a)
    for bad in ({"assigned_to": str(admin_b.pk)}, {"opportunity": str(opp_b.pk)}, {"type": "nap"}):
        response = client.post("/api/v1/tasks/", {"title": "X", **bad})
        assert response.status_code == 400, bad
    assert _count(org_a, Task) == 0


def test_listed_proposals_carry_their_lines_in_order_as_their_detail_does(org_a, admin_a, opp_a):
    prices = (("Site", "900.00"), ("SEO", "120.50"))
    lines = [factories.line(description=d, unit_price=p) for d, p in prices]
    proposal = factories.proposal(org_a, opp_a, lines=lines)
    factories.proposal(org_a, opp_a, lines=[factories.line(description="Other")])
    client = api_client(admin_a, org_a)
    listed = client.get("/api/v1/proposals/").json()["results"]
    row = next(p for p in listed if p["id"] == str(proposal.pk))
    assert [line["description"] for line in row["line_items"]] == ["Site", "SEO"]
    assert row["line_items"][1]["unit_price"] == "120.50"
    assert row == client.get(f"/api/v1/proposals/{proposal.pk}/").json()


def test_campaign_stats_count_only_what_the_user_may_see(org_a, admin_a, rep_a, rep_a2):
    """A rep's view of a campaign counts their own leads and calls, not the organization's."""
    campaign = factories.campaign(org_a)
    mine = factories.lead(org_a, assigned_to=rep_a)
    factories.ai_call(org_a, for_lead=mine, in_campaign=campaign)
    for _ in range(2):
        theirs = factories.lead(org_a, assigned_to=rep_a2)
        factories.ai_call(org_a, for_lead=theirs, in_campaign=campaign)
    factories.lead(org_a, assigned_to=rep_a2)
    url = f"/api/v1/campaigns/{campaign.pk}/stats/"
    everyone = api_client(admin_a, org_a).get(url).json()
    assert everyone["by_status"] == [{"status": "in_progress", "count": 3}]
    assert everyone["targets_remaining"] == 1
    own = api_client(rep_a, org_a).get(url).json()
    assert own["by_status"] == [{"status": "in_progress", "count": 1}]
    assert own["targets_remaining"] == 0
