"""The sales workflows through the services: lead → opportunity → proposal → contract →
customer, stage moves, and the refusals that write nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm import services
from crm.choices import ContractStatus, OpportunityStatus, ProposalStatus
from crm.exceptions import InvalidTransition
from crm.models import Contract, Opportunity, Pipeline, PipelineStage, Proposal
from leads.choices import LeadStatus
from leads.models import Company, Lead
from mailing.models import EmailMessage
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import api_client

pytestmark = pytest.mark.django_db


def test_new_organization_has_a_default_pipeline_with_ordered_stages(org_a):
    with tenant_context(org_a):
        pipeline = Pipeline.objects.get()
        stages = list(pipeline.stages.values_list("name", "probability", "is_won", "is_lost"))
    assert pipeline.is_default
    assert [s[0] for s in stages] == ["New", "Discovery", "Proposal", "Negotiation", "Won", "Lost"]
    assert stages[-2][1:] == (Decimal("100.00"), True, False)
    assert stages[-1][1:] == (Decimal("0.00"), False, True)


def test_default_pipeline_step_is_idempotent(org_a):
    with tenant_context(org_a):
        again = services.pipeline_create_default(organization=org_a)
        assert Pipeline.objects.count() == 1
        assert again.is_default


def test_lead_to_customer_end_to_end(org_a, rep_a):
    lead = factories.qualified_lead(org_a, assigned_to=rep_a)
    with tenant_context(org_a, user=rep_a):
        opportunity = services.lead_convert(
            lead=lead, acting_user=None, value=Decimal("2400.00"), name="New website"
        )
        assert opportunity.stage.name == "New"
        assert opportunity.probability == Decimal("10.00")
        assert opportunity.weighted_value == Decimal("240.00")
        assert opportunity.owner == rep_a

        proposal = services.proposal_create(
            opportunity=opportunity,
            acting_user=None,
            lines=[
                factories.line("Design", "1", "1500.00", discount="10", tax="20"),
                factories.line("Hosting (months)", "12", "25.00", tax="20"),
            ],
        )
        assert proposal.number.startswith("P-") and proposal.status == ProposalStatus.DRAFT
        services.proposal_send(proposal=proposal, acting_user=None)
        contract = services.proposal_accept(proposal=proposal, acting_user=None)
        assert contract.status == ContractStatus.DRAFT
        assert contract.value == proposal.total == Decimal("1980.00")

        signed = services.contract_sign(
            contract=contract, signer_name="Dana Drip", acting_user=None
        )
        assert signed.status == ContractStatus.SIGNED and signed.signed_at is not None

        opportunity.refresh_from_db()
        assert opportunity.status == OpportunityStatus.WON
        assert opportunity.stage.is_won and opportunity.closed_at is not None
        assert opportunity.value == Decimal("1980.00")
        assert opportunity.weighted_value == Decimal("1980.00")
        company = Company.objects.get(pk=lead.company_id)
        assert company.is_customer and company.customer_since is not None
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CONVERTED


@pytest.mark.parametrize("status", [LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.NURTURING])
def test_only_qualified_leads_convert(org_a, status):
    lead = factories.lead(org_a, status=status)
    with tenant_context(org_a):
        with pytest.raises(InvalidTransition) as refused:
            services.lead_convert(lead=lead, acting_user=None)
        assert status in str(refused.value) and "qualified" in refused.value.allowed
        assert not Opportunity.objects.exists()


def test_a_lead_has_one_open_opportunity(org_a, opp_a):
    with tenant_context(org_a):
        with pytest.raises(InvalidTransition):
            services.lead_convert(lead=opp_a.lead, acting_user=None)
        assert Opportunity.objects.count() == 1


def test_probability_follows_the_stage_unless_given(org_a, opp_a):
    with tenant_context(org_a):
        discovery = PipelineStage.objects.get(name="Discovery")
        moved = services.opportunity_move_stage(
            opportunity=opp_a, stage=discovery, acting_user=None
        )
        assert moved.probability == Decimal("25.00")
        assert moved.weighted_value == Decimal("250.00")
        proposal_stage = PipelineStage.objects.get(name="Proposal")
        moved = services.opportunity_move_stage(
            opportunity=opp_a, stage=proposal_stage, acting_user=None, probability=Decimal("33.33")
        )
        assert moved.probability == Decimal("33.33")
        assert moved.weighted_value == Decimal("333.30")


def test_lost_needs_a_reason_and_reopening_is_explicit(org_a, opp_a):
    with tenant_context(org_a):
        lost = PipelineStage.objects.get(is_lost=True)
        with pytest.raises(ValidationError):
            services.opportunity_move_stage(opportunity=opp_a, stage=lost, acting_user=None)
        closed = services.opportunity_move_stage(
            opportunity=opp_a, stage=lost, acting_user=None, lost_reason="Went with a cousin"
        )
        assert closed.status == OpportunityStatus.LOST and closed.weighted_value == 0
        new = PipelineStage.objects.get(name="New")
        with pytest.raises(InvalidTransition) as refused:
            services.opportunity_move_stage(opportunity=opp_a, stage=new, acting_user=None)
        assert refused.value.allowed == ["reopen"]
        reopened = services.opportunity_move_stage(
            opportunity=opp_a, stage=new, acting_user=None, reopen=True
        )
        assert reopened.status == OpportunityStatus.OPEN
        assert reopened.closed_at is None and reopened.lost_reason == ""


def test_stage_of_another_pipeline_is_refused(org_a, opp_a):
    with tenant_context(org_a):
        other = services.pipeline_create(name="Renewals", acting_user=None)
        foreign_stage = other.stages.first()
        with pytest.raises(ValidationError):
            services.opportunity_move_stage(
                opportunity=opp_a, stage=foreign_stage, acting_user=None
            )
        assert Opportunity.objects.get(pk=opp_a.pk).stage.pipeline_id == opp_a.pipeline_id


def test_proposal_transitions_are_checked(org_a, opp_a):
    proposal = factories.proposal(org_a, opp_a)
    with tenant_context(org_a):
        with pytest.raises(InvalidTransition) as refused:
            services.proposal_accept(proposal=proposal, acting_user=None)
        assert refused.value.allowed == ["sent"]
        services.proposal_send(proposal=proposal, acting_user=None)
        services.proposal_reject(proposal=proposal, acting_user=None, reason="Too dear")
        with pytest.raises(InvalidTransition) as refused:
            services.proposal_accept(proposal=proposal, acting_user=None)
        assert refused.value.allowed == []
        assert not Contract.objects.exists()


@pytest.mark.parametrize("flag", ["is_won", "is_lost"])
def test_a_proposal_of_a_closed_deal_is_neither_accepted_nor_rejected(org_a, opp_a, flag):
    proposal = factories.proposal(org_a, opp_a)
    with tenant_context(org_a):
        services.proposal_send(proposal=proposal, acting_user=None, email=False)
        services.opportunity_move_stage(
            opportunity=opp_a,
            stage=opp_a.pipeline.stage_flagged(flag),
            acting_user=None,
            lost_reason="Went elsewhere",
        )
        for answer in (services.proposal_accept, services.proposal_reject):
            with pytest.raises(InvalidTransition, match="The opportunity is already"):
                answer(proposal=proposal, acting_user=None)
        stored = Proposal.objects.get(pk=proposal.pk)
        assert stored.status == ProposalStatus.SENT and stored.rejected_at is None
        assert not Contract.objects.exists()


def test_an_expired_proposal_is_neither_accepted_nor_rejected(org_a, opp_a):
    proposal = factories.proposal(org_a, opp_a)
    with tenant_context(org_a):
        services.proposal_send(proposal=proposal, acting_user=None, email=False)
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        Proposal.objects.filter(pk=proposal.pk).update(valid_until=yesterday)
        for answer in (services.proposal_accept, services.proposal_reject):
            with pytest.raises(InvalidTransition, match="expired") as refused:
                answer(proposal=Proposal.objects.get(pk=proposal.pk), acting_user=None)
            assert refused.value.allowed == [ProposalStatus.EXPIRED]
        assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.SENT


def test_a_proposal_past_its_last_valid_day_is_not_sent(org_a, opp_a, rep_a):
    """The customer could not accept it; it stays a draft, and nothing is emailed."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    proposal = factories.proposal(org_a, opp_a, valid_until=yesterday)
    response = api_client(rep_a, org_a).post(f"/api/v1/proposals/{proposal.pk}/send/")
    assert response.status_code == 400, response.content
    assert "has passed" in str(response.json()["error"]["details"]["valid_until"])
    with tenant_context(org_a):
        stored = Proposal.objects.get(pk=proposal.pk)
        assert (stored.status, stored.sent_at) == (ProposalStatus.DRAFT, None)
        assert not EmailMessage.objects.exists()


def test_currency_mismatch_is_refused(org_a, opp_a):
    with tenant_context(org_a):
        with pytest.raises(ValidationError):
            services.proposal_create(
                opportunity=opp_a, acting_user=None, lines=[factories.line()], currency="USD"
            )
        assert not Proposal.objects.exists()


def test_proposal_numbers_are_sequential_per_organization(org_a, org_b, opp_a, opp_b):
    first = factories.proposal(org_a, opp_a)
    second = factories.proposal(org_a, opp_a)
    other = factories.proposal(org_b, opp_b)
    assert int(second.number[-4:]) == int(first.number[-4:]) + 1
    assert other.number == first.number  # each organization counts on its own


def test_signing_a_contract_of_a_lost_opportunity_is_refused(org_a, opp_a):
    proposal = factories.proposal(org_a, opp_a)
    with tenant_context(org_a):
        services.proposal_send(proposal=proposal, acting_user=None)
        contract = services.proposal_accept(proposal=proposal, acting_user=None)
        lost = PipelineStage.objects.get(is_lost=True)
        services.opportunity_move_stage(
            opportunity=opp_a, stage=lost, acting_user=None, lost_reason="Changed their mind"
        )
        with pytest.raises(InvalidTransition):
            services.contract_sign(contract=contract, signer_name="X", acting_user=None)
        assert Contract.objects.get(pk=contract.pk).status == ContractStatus.DRAFT
        assert not Company.objects.get(pk=opp_a.lead.company_id).is_customer
