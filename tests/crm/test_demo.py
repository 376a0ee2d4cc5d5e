"""The CRM demo data: loaded from the demo leads, through the services, idempotently."""

import pytest

from accounts.demo import DEMO_ORGANIZATIONS, ensure_organization
from crm import demo
from crm.choices import AICallStatus, CampaignStatus, ContractStatus, OpportunityStatus
from crm.models import AICall, Campaign, Contract, Opportunity, Proposal, Task
from leads import demo as leads_demo
from leads.choices import InteractionType
from leads.models import Interaction
from smartweb.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _counts():
    return tuple(
        model.all_objects.count() for model in (Opportunity, Proposal, Contract, AICall, Task)
    )


def test_demo_data_covers_the_crm_and_loads_once():
    organization, users = ensure_organization(DEMO_ORGANIZATIONS[0])
    with tenant_context(organization, user=users["admin"]):
        leads_demo.load_demo(organization=organization, users=users)
        demo.load_demo(organization=organization, users=users)
        stages = set(Opportunity.objects.values_list("stage__name", flat=True))
        assert stages == {name for name, _ in demo.STAGE_PLAN}
        assert Opportunity.objects.filter(status=OpportunityStatus.WON).count() == 3
        assert Contract.objects.filter(status=ContractStatus.SIGNED).count() == 3
        assert Proposal.objects.count() == 9
        campaign = Campaign.objects.get(name=demo.DEMO_CAMPAIGN)
        assert campaign.status == CampaignStatus.COMPLETED
        calls = AICall.objects.filter(campaign=campaign)
        assert calls.count() == len(demo.CALLS)
        assert not calls.filter(status=AICallStatus.IN_PROGRESS).exists()
        logged = Interaction.objects.filter(
            type=InteractionType.AI_CALL, pk__in=calls.values("interaction")
        )
        assert logged.count() == 10
        assert Task.objects.filter(ai_call__isnull=False).count() == 7
        assert Task.objects.overdue().exists() and Task.objects.filter(ai_call=None).count() == 4
        before = _counts()
        demo.load_demo(organization=organization, users=users)
        assert _counts() == before
