"""A stage (or its pipeline) deleted while a deal is put into it, by two real sessions,
committed: the delete checks that no deal is in the stage, and the deal's move or
conversion waits for that check or the check for it (`crm.pipeline_locks`). No deal is
left in a deleted stage; the one that comes second is refused, or converted into the
stage that is first by then."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from crm import services
from crm.choices import OpportunityStatus
from crm.exceptions import InvalidTransition
from crm.models import Opportunity, PipelineStage
from smartweb.tenancy.context import tenant_context
from tests.concurrency import Racer, wait_until_blocked
from tests.crm import factories

pytestmark = pytest.mark.django_db(transaction=True)

DELETED = {"stage": ["This stage has been deleted."]}


@pytest.fixture
def pipeline(live_org):
    """A committed organization's second pipeline, its standard stages in order, and a
    deal in its first stage."""
    organization = live_org[0]
    with tenant_context(organization):
        made = services.pipeline_create(name="Renewals", acting_user=None)
        stages = list(made.stages.order_by("position"))
    deal = factories.opportunity(organization, pipeline=made)
    return organization, made, stages, deal


def _stage_of(organization, deal) -> PipelineStage:
    with tenant_context(organization):
        return Opportunity.objects.select_related("stage").get(pk=deal.pk).stage


def _is_deleted(organization, stage) -> bool:
    with tenant_context(organization):
        return PipelineStage.all_objects.get(pk=stage.pk).deleted_at is not None


def _while_held(organization, hold, race) -> Racer:
    """`race`, run by another session while this one holds what `hold` locked: it waits,
    and goes on once `hold`'s transaction has committed."""
    with tenant_context(organization), transaction.atomic():
        hold()
        racer = Racer(race, organization).start()
        wait_until_blocked(racer)
    racer.join()
    return racer


def test_a_deal_moved_into_a_stage_being_deleted_is_refused_and_stays_where_it_was(pipeline):
    organization, _, stages, deal = pipeline
    first, target = stages[0], stages[1]
    mover = _while_held(
        organization,
        lambda: services.stage_delete(stage=target, acting_user=None),  # checked empty
        lambda: services.opportunity_move_stage(opportunity=deal, stage=target, acting_user=None),
    )
    assert isinstance(mover.error, ValidationError), mover.error or mover.result
    assert mover.error.message_dict == DELETED
    assert _stage_of(organization, deal) == first
    assert _is_deleted(organization, target)


def test_a_stage_deleted_while_a_deal_moves_into_it_is_refused_and_kept(pipeline):
    organization, _, stages, deal = pipeline
    target = stages[1]
    deleter = _while_held(
        organization,
        lambda: services.opportunity_move_stage(opportunity=deal, stage=target, acting_user=None),
        lambda: services.stage_delete(stage=target, acting_user=None),
    )
    assert isinstance(deleter.error, InvalidTransition), deleter.error
    assert str(deleter.error) == "Opportunities are in this stage; move them first."
    assert _stage_of(organization, deal) == target
    assert not _is_deleted(organization, target)


def test_a_lead_converted_while_its_pipelines_first_stage_is_deleted_goes_to_the_next(
    pipeline,
):
    organization, made, stages, deal = pipeline
    first, second = stages[0], stages[1]
    with tenant_context(organization):  # the first stage emptied, so it may be deleted
        services.opportunity_move_stage(opportunity=deal, stage=second, acting_user=None)
    lead = factories.qualified_lead(organization)
    converter = _while_held(
        organization,
        lambda: services.stage_delete(stage=first, acting_user=None),
        lambda: services.lead_convert(lead=lead, acting_user=None, pipeline=made),
    )
    assert converter.error is None, converter.error
    assert _stage_of(organization, converter.result) == second
    assert _is_deleted(organization, first)


def test_a_deal_reopened_into_a_pipeline_being_deleted_is_refused_and_stays_closed(pipeline):
    organization, made, stages, deal = pipeline
    lost = next(stage for stage in stages if stage.is_lost)
    with tenant_context(organization):
        services.opportunity_move_stage(
            opportunity=deal, stage=lost, acting_user=None, lost_reason="Budget"
        )
    reopener = _while_held(
        organization,
        lambda: services.pipeline_delete(pipeline=made, acting_user=None),  # no open deal
        lambda: services.opportunity_move_stage(
            opportunity=deal, stage=stages[0], acting_user=None, reopen=True
        ),
    )
    assert isinstance(reopener.error, ValidationError), reopener.error or reopener.result
    assert reopener.error.message_dict == DELETED
    with tenant_context(organization):
        assert Opportunity.objects.get(pk=deal.pk).status == OpportunityStatus.LOST
    assert _is_deleted(organization, stages[0])
