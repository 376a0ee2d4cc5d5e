"""Moving a deal into a won or lost stage through the API asks why, as the board and the
deal page do: the same check (a 400 naming the missing or too long reason, nothing moved)
and the same storage (why it was lost on the deal, why it was won in the move's history),
declared in the OpenAPI schema. 404 for another organization's deal or one out of scope,
403 without the right to change deals."""

import pytest

from crm.choices import OpportunityStatus
from crm.close_reason import MAX_LENGTH
from crm.models import Opportunity, PipelineStage
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client

pytestmark = pytest.mark.django_db

WHY_WON = "Loved the roofer portfolio demo"
WHY_LOST = "Went with a cheaper agency"


def _move(user, organization, deal, **body):
    return api_client(user, organization).post(
        f"/api/v1/opportunities/{deal.pk}/move-stage/", body, format="json"
    )


def _stage(organization, deal, flag: str) -> str:
    with tenant_context(organization):
        return str(PipelineStage.objects.get(pipeline=deal.pipeline_id, **{flag: True}).pk)


def _stored(organization, deal) -> Opportunity:
    with tenant_context(organization):
        return Opportunity.objects.get(pk=deal.pk)


def _refused_at(answer, field: str) -> str:
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert list(error["details"]) == [field]
    return error["details"][field][0]


def test_winning_a_deal_asks_why_and_keeps_it_in_the_moves_history(org_a, rep_a, opp_a):
    won = _stage(org_a, opp_a, "is_won")
    for missing in ({}, {"won_reason": "   "}):
        answer = _move(rep_a, org_a, opp_a, stage=won, **missing)
        assert _refused_at(answer, "won_reason") == "Say why the opportunity was won."
    assert _stored(org_a, opp_a).status == OpportunityStatus.OPEN
    moved = _move(rep_a, org_a, opp_a, stage=won, won_reason=f"  {WHY_WON} ")
    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == "won"
    with tenant_context(org_a):
        latest = _stored(org_a, opp_a).history.order_by("-history_date").first()
    assert latest.history_change_reason == WHY_WON


def test_losing_a_deal_asks_why_as_the_board_does_and_keeps_it_on_the_deal(org_a, rep_a, opp_a):
    lost = _stage(org_a, opp_a, "is_lost")
    answer = _move(rep_a, org_a, opp_a, stage=lost, won_reason=WHY_LOST)  # the other reason
    assert _refused_at(answer, "lost_reason") == "Say why the opportunity was lost."
    assert _stored(org_a, opp_a).status == OpportunityStatus.OPEN
    moved = _move(rep_a, org_a, opp_a, stage=lost, lost_reason=WHY_LOST)
    assert moved.status_code == 200, moved.content
    assert moved.json()["lost_reason"] == WHY_LOST
    assert _stored(org_a, opp_a).lost_reason == WHY_LOST


def test_a_reason_too_long_is_refused_and_nothing_moves(org_a, rep_a, opp_a):
    won = _stage(org_a, opp_a, "is_won")
    answer = _move(rep_a, org_a, opp_a, stage=won, won_reason="x" * (MAX_LENGTH["won"] + 1))
    assert str(MAX_LENGTH["won"]) in _refused_at(answer, "won_reason")
    stored = _stored(org_a, opp_a)
    assert stored.status == OpportunityStatus.OPEN and stored.stage_id == opp_a.stage_id


def test_an_open_stage_needs_no_reason(org_a, rep_a, opp_a):
    with tenant_context(org_a):
        negotiation = PipelineStage.objects.get(pipeline=opp_a.pipeline_id, name="Negotiation")
    moved = _move(rep_a, org_a, opp_a, stage=str(negotiation.pk))
    assert moved.status_code == 200 and moved.json()["stage"] == str(negotiation.pk)


def test_another_organization_or_a_deal_out_of_scope_is_404_without_the_right_403(
    org_a, admin_b, org_b, rep_a2, readonly_a, opp_a
):
    won = _stage(org_a, opp_a, "is_won")
    assert _move(admin_b, org_b, opp_a, stage=won, won_reason=WHY_WON).status_code == 404
    assert _move(rep_a2, org_a, opp_a, stage=won, won_reason=WHY_WON).status_code == 404
    assert _move(readonly_a, org_a, opp_a, stage=won, won_reason=WHY_WON).status_code == 403
    assert _stored(org_a, opp_a).status == OpportunityStatus.OPEN


def test_the_schema_declares_both_reasons_with_their_bounds(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/opportunities/{id}/move-stage/"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    for outcome in ("won", "lost"):
        field = fields[f"{outcome}_reason"]
        assert field["maxLength"] == MAX_LENGTH[outcome]
        assert f"{outcome} stage" in field["description"]
