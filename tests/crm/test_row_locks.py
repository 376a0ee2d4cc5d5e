"""An edit locks the row it edits, and nothing else: a contract's edit leaves its
opportunity, lead, company and organization free for the colleague editing them at the
same moment, and a deal's move leaves its stage free for the other deals of that stage.
Committed data, read from a second connection as another request would."""

from __future__ import annotations

import pytest
from django.db import transaction

from crm import services
from crm.models import PipelineStage
from smartweb.tenancy.context import tenant_context
from tests.concurrency import held_elsewhere, second_connection
from tests.crm import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_contract_edit_locks_the_contract_alone(live_org):
    organization, _, rep = live_org
    opportunity = factories.opportunity(organization, owner=rep)
    proposal = factories.proposal(organization, opportunity)
    contract = factories.accepted(organization, proposal)
    lead = opportunity.lead
    with (
        second_connection(organization) as other,
        tenant_context(organization),
        transaction.atomic(),
    ):
        services.contract_update(contract=contract, acting_user=None, title="Website, year one")
        held = {
            table: held_elsewhere(other, table, pk)
            for table, pk in [
                ("crm_contract", contract.pk),
                ("crm_proposal", proposal.pk),
                ("crm_opportunity", opportunity.pk),
                ("leads_lead", lead.pk),
                ("leads_company", lead.company_id),
                ("accounts_organization", organization.pk),
            ]
        }
    assert held == {
        "crm_contract": True,
        "crm_proposal": False,
        "crm_opportunity": False,
        "leads_lead": False,
        "leads_company": False,
        "accounts_organization": False,
    }


def test_a_deal_moved_on_the_board_leaves_its_stage_free(live_org):
    organization, _, rep = live_org
    opportunity = factories.opportunity(organization, owner=rep)
    with tenant_context(organization):
        stages = list(PipelineStage.objects.filter(pipeline=opportunity.pipeline_id))
        upcoming = next(s for s in stages if s.position > opportunity.stage.position)
    with (
        second_connection(organization) as other,
        tenant_context(organization),
        transaction.atomic(),
    ):
        services.opportunity_move_stage(opportunity=opportunity, stage=upcoming, acting_user=None)
        held = {
            "the deal": held_elsewhere(other, "crm_opportunity", opportunity.pk),
            "its stage before": held_elsewhere(other, "crm_pipelinestage", opportunity.stage_id),
            "its stage after": held_elsewhere(other, "crm_pipelinestage", upcoming.pk),
        }
    assert held == {"the deal": True, "its stage before": False, "its stage after": False}
