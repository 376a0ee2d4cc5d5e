"""The services report their events to the outbox, in their own transaction: one event
per change, with what a receiver needs, and only to endpoints subscribed to it."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from crm import services as crm
from crm.choices import AICallStatus
from leads.choices import LeadStatus
from leads.services import lead_change_status
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.leads.factories import make_lead
from tests.webhooks.conftest import make_endpoint
from webhooks.choices import EventType
from webhooks.models import Delivery, OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def listening(org_a, local_addresses):
    return make_endpoint(org_a, "http://127.0.0.1:9/hooks")


def events(organization) -> list[tuple[str, dict]]:
    """In the order they were emitted."""
    with tenant_context(organization):
        return [(e.event_type, e.payload) for e in OutboxEvent.objects.order_by("created_at")]


def types(organization) -> list[str]:
    return [event_type for event_type, _ in events(organization)]


def test_without_a_subscribed_endpoint_nothing_is_written(org_a, local_addresses):
    make_endpoint(org_a, "http://127.0.0.1:9/hooks", [EventType.TASK_OVERDUE])
    make_lead(org_a, contact_name="Unheard")
    assert events(org_a) == []


def test_lead_events(org_a, listening):
    lead = make_lead(org_a, contact_name="Evented")
    with tenant_context(org_a):
        lead_change_status(lead=lead, status=LeadStatus.CONTACTED, acting_user=None)
    [(created, first), (changed, second)] = events(org_a)
    assert (created, first["lead"]["id"]) == ("lead.created", str(lead.pk))
    assert changed == "lead.status_changed"
    assert (second["previous_status"], second["lead"]["status"]) == ("new", "contacted")


def test_a_deal_from_stage_moves_to_proposal_contract_and_win(org_a, listening):
    opportunity = factories.opportunity(org_a)
    proposal = factories.proposal(org_a, opportunity)
    with tenant_context(org_a):
        start = OutboxEvent.objects.count()
        stages = list(opportunity.pipeline.stages.order_by("position"))
        crm.opportunity_move_stage(opportunity=opportunity, stage=stages[1], acting_user=None)
        crm.proposal_send(proposal=proposal, acting_user=None)
        contract = crm.proposal_accept(proposal=proposal, acting_user=None)
        crm.contract_send(contract=contract, acting_user=None)
        crm.contract_sign(contract=contract, signer_name="Pat Plumber", acting_user=None)
    later = types(org_a)[start:]
    assert later[0] == "opportunity.stage_changed"
    assert "proposal.accepted" in later
    assert later[-1] == "contract.signed"
    assert "opportunity.won" in later  # the signature won the deal
    won = dict(events(org_a)[start:])["opportunity.won"]["opportunity"]
    assert (won["id"], won["status"], won["value"]) == (str(opportunity.pk), "won", "1000.00")


def test_a_time_typed_in_the_back_offices_zone_is_sent_in_utc(org_a, listening):
    """The back office reads a signature's time in the organization's zone
    (docs/decisions/0050); receivers get it in UTC, as the API writes it."""
    proposal = factories.proposal(org_a, factories.opportunity(org_a))
    typed = dt.datetime(2026, 7, 1, 16, 0, tzinfo=zoneinfo.ZoneInfo("Europe/London"))
    with tenant_context(org_a):
        crm.proposal_send(proposal=proposal, acting_user=None)
        contract = crm.proposal_accept(proposal=proposal, acting_user=None)
        crm.contract_send(contract=contract, acting_user=None)
        crm.contract_sign(
            contract=contract, signer_name="Pat Plumber", acting_user=None, signed_at=typed
        )
    signed = dict(events(org_a))["contract.signed"]["contract"]
    assert signed["signed_at"] == "2026-07-01T15:00:00Z"


def test_a_lost_deal(org_a, listening):
    opportunity = factories.opportunity(org_a)
    with tenant_context(org_a):
        lost = opportunity.pipeline.stage_flagged("is_lost")
        crm.opportunity_move_stage(
            opportunity=opportunity, stage=lost, acting_user=None, lost_reason="Too dear"
        )
    assert types(org_a)[-2:] == ["opportunity.stage_changed", "opportunity.lost"]
    assert dict(events(org_a))["opportunity.lost"]["opportunity"]["lost_reason"] == "Too dear"


def test_an_ai_call_result(org_a, listening):
    call = factories.ai_call(org_a, provider_call_id="prov-1")
    with tenant_context(org_a):
        crm.ai_call_record_result(
            report=crm.CallReport(provider_call_id="prov-1", status=AICallStatus.COMPLETED)
        )
    event_type, payload = events(org_a)[-1]
    assert event_type == "ai_call.completed"
    assert (payload["ai_call"]["id"], payload["ai_call"]["status"]) == (str(call.pk), "completed")


def test_only_subscribed_endpoints_get_a_delivery(org_a, local_addresses):
    leads_only = make_endpoint(org_a, "http://127.0.0.1:9/a", [EventType.LEAD_CREATED])
    make_endpoint(org_a, "http://127.0.0.1:9/b", [EventType.CONTRACT_SIGNED])
    make_endpoint(org_a, "http://127.0.0.1:9/c", [EventType.LEAD_CREATED], is_active=False)
    make_lead(org_a, contact_name="Routed")
    with tenant_context(org_a):
        assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [leads_only.pk]
