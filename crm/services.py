"""The sales workflows of the CRM. Each function is one transaction in the current
organization's context; views, admin actions, jobs and the webhook all call these.

Refusals: `InvalidTransition` for a step the state does not allow (HTTP 409 with the
allowed next states), `ValidationError` for bad input (HTTP 400). Either way nothing is
written: the transaction rolls back.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from accounts import signing_secrets
from accounts.models import Membership, Organization, User
from compliance.erased import refuse_if_erased, refuse_if_row_erased
from crm import pricing
from crm.choices import (
    AI_CALL_FINAL_STATUSES,
    CAMPAIGN_TRANSITIONS,
    CONTRACT_TRANSITIONS,
    PROPOSAL_TRANSITIONS,
    TASK_OPEN_STATUSES,
    AICallStatus,
    CallOutcome,
    CampaignStatus,
    ContractStatus,
    OpportunityStatus,
    ProposalStatus,
    TaskPriority,
    TaskStatus,
    TaskType,
)
from crm.exceptions import InvalidTransition
from crm.models import (
    DEFAULT_CURRENCY,
    AICall,
    AICallWebhookSecret,
    Campaign,
    Contract,
    Opportunity,
    Pipeline,
    PipelineStage,
    Proposal,
    ProposalLineItem,
    Task,
)
from crm.pipeline_locks import hold_pipeline, lock_pipeline
from crm.proposal_reach import refuse_proposal_by_a_share
from crm.providers import CallRequest, CallStarted, ProviderNotConfigured, get_provider
from leads import services as lead_services
from leads.choices import (
    Direction,
    InteractionType,
    LeadStatus,
)
from leads.models import Company, Interaction, Lead
from mailing import services as mailing
from mailing.choices import MessageKind
from notifications import events as notification_events
from sharing.reassigning import refuse_converting_a_share, refuse_reassigning_by_a_share
from smartweb import access, json_schema, time_zones
from smartweb.locks import advisory_xact_lock
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import current_membership, current_organization_id
from smartweb.writes import locked, save_changed, values_of
from webhooks import outbox, payloads
from webhooks.choices import EventType

# name, probability %, is_won, is_lost
DEFAULT_STAGES: tuple[tuple[str, int, bool, bool], ...] = (
    ("New", 10, False, False),
    ("Discovery", 25, False, False),
    ("Proposal", 50, False, False),
    ("Negotiation", 75, False, False),
    ("Won", 100, True, False),
    ("Lost", 0, False, True),
)
CONVERTIBLE_LEAD_STATUSES = (LeadStatus.QUALIFIED,)
# A campaign run looks again this often while it has leads to call or calls in flight.
CAMPAIGN_RUN_INTERVAL = dt.timedelta(minutes=15)
# Work committed this long ago with no job for it lost its queueing (the database gone
# between the commit and the queueing, a pass whose job failed): the minute's sweep
# (crm.jobs.sweep) queues it. Younger work may be between its commit and its queueing.
UNQUEUED_AFTER = dt.timedelta(minutes=1)
# Calls still unreported after this long no longer keep a campaign open.
PENDING_CALL_HORIZON = dt.timedelta(hours=24)
# The history's change reason column holds this much of why a deal was won.
WON_REASON_MAX_LENGTH = 100
AUDIT_WEBHOOK_SECRET_ROTATED = "crm.webhook_secret_rotated"  # noqa: S105 (an event name)


# --- helpers ------------------------------------------------------------------------


def _require_transition(kind: str, graph: dict, current: str, target: str) -> None:
    allowed = graph.get(current, ())
    if target not in allowed:
        names = ", ".join(allowed) if allowed else "none, the status is final"
        raise InvalidTransition(
            f"A {kind} cannot go from '{current}' to '{target}'. Allowed: {names}.",
            allowed=allowed,
        )


# What a status change of each kind of row is checked against: its name in messages,
# the permission it needs and its transitions.
_STEPS = {
    Proposal: ("proposal", Resource.PROPOSALS, PROPOSAL_TRANSITIONS),
    Contract: ("contract", Resource.CONTRACTS, CONTRACT_TRANSITIONS),
    Campaign: ("campaign", Resource.CAMPAIGNS, CAMPAIGN_TRANSITIONS),
}


_Stepped = TypeVar("_Stepped", Proposal, Contract, Campaign)


def _step(
    row: _Stepped, target: str, acting_user: User | None, *, updates_lead: bool = False
) -> _Stepped:
    """Authorize a status change of a proposal, contract or campaign, lock its row and
    refuse a transition its graph does not allow; the locked row. `updates_lead`: the
    change goes on to update the row's lead (a signature converts it), whose lock is then
    taken for update first: with a shared one, two signatures of one contract each held
    it and deadlocked upgrading it."""
    model = row._meta.concrete_model
    kind, resource, graph = _STEPS[model]
    access.require(acting_user, Action.UPDATE, resource, row)
    if model is not Campaign:
        refuse_if_row_erased(row, for_update=updates_lead)
    row = locked(row)
    _require_transition(kind, graph, row.status, target)
    return row


def _only_fields(given, allowed, message: str) -> None:
    """Refuse, field by field with `message`, what is given but not allowed."""
    unknown = set(given) - set(allowed)
    if unknown:
        raise ValidationError({name: message for name in unknown})


def _require_member(user: User | None, field_name: str) -> None:
    """People referenced by a row must be active members of the current organization."""
    if user is not None and not (
        user.is_active and Membership.objects.filter(user=user, is_active=True).exists()
    ):
        raise ValidationError({field_name: "This user is not a member of the organization."})


def _check_assignee(
    acting_user: User | None, assignee: User | None, resource: str, field_name: str
) -> None:
    """Owners and assignees are active members, within the acting user's scope: a role
    with "own" scope hands work only to itself, "team" scope within its team."""
    _require_member(assignee, field_name)
    if acting_user is None or assignee is None:
        return
    scope = access.scope_for(acting_user, Action.UPDATE, resource) or access.scope_for(
        acting_user, Action.CREATE, resource
    )
    if scope == Scope.ALL:
        return
    if scope == Scope.TEAM:
        if assignee.pk not in access.team_member_ids(current_membership()):
            raise ValidationError({field_name: "You may only assign within your team."})
    elif assignee.pk != acting_user.pk:
        raise ValidationError({field_name: "You may only assign to yourself."})


def require_currency(currency: str, field_name: str = "currency") -> str:
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise ValidationError({field_name: "Use a three-letter ISO 4217 currency code."})
    return currency


def _require_money(value, field_name: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError({field_name: "Enter an amount."})
    if value < 0:
        raise ValidationError({field_name: "The amount cannot be negative."})
    if value > pricing.MAX_MONEY:
        raise ValidationError({field_name: "The amount is too large."})
    return pricing.cents(value)


def _require_percent(value, field_name: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= 100:
        raise ValidationError({field_name: "Use a percentage between 0 and 100."})
    return value


def organization_currency() -> str:
    organization = Organization.objects.filter(pk=current_organization_id()).first()
    configured = (organization.settings or {}).get("currency") if organization else None
    return configured if isinstance(configured, str) and len(configured) == 3 else DEFAULT_CURRENCY


def _next_number(model, prefix: str) -> str:
    """The organization's next document number ("P-2026-0007"), race-free.

    A transaction-level advisory lock per organization and document type serializes the
    allocation; numbers of soft-deleted rows are never reused.
    """
    stem = f"{prefix}-{timezone.now().year}-"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"{current_organization_id()}:{model._meta.label}"],
        )
    last = model.all_objects.filter(number__regex=rf"^{stem}[0-9]+$").aggregate(
        last=Max(Cast(Substr("number", len(stem) + 1), IntegerField()))
    )["last"]
    return f"{stem}{(last or 0) + 1:04d}"


# --- pipelines ----------------------------------------------------------------------


@transaction.atomic
def pipeline_create_default(*, organization: Organization) -> Pipeline:
    """The organization's default sales pipeline with the standard stages (idempotent).

    An organization setup step (settings.ORGANIZATION_SETUP_STEPS), run in its context.
    """
    existing = Pipeline.objects.filter(is_default=True).first()
    if existing is not None:
        return existing
    return pipeline_create(name="Sales pipeline", acting_user=None, is_default=True)


def default_pipeline() -> Pipeline:
    """The current organization's default pipeline, created if it has none yet."""
    pipeline = Pipeline.objects.filter(is_default=True).first()
    if pipeline is None:
        organization = Organization.objects.get(pk=current_organization_id())
        pipeline = pipeline_create_default(organization=organization)
    return pipeline


@transaction.atomic
def pipeline_set_default(*, pipeline: Pipeline, acting_user: User | None) -> Pipeline:
    """Make `pipeline` (locked by the caller, or new) the default; the previous default
    stops being it."""
    access.require(acting_user, Action.UPDATE, Resource.PIPELINES, pipeline)
    if pipeline.is_default:
        return pipeline
    # One change of the default at a time: two side by side each cleared the default they
    # had read, then both set theirs, and the second was refused by the unique index.
    advisory_xact_lock("default pipeline", pipeline.organization_id)
    for other in (
        Pipeline.objects.select_for_update().filter(is_default=True).exclude(pk=pipeline.pk)
    ):
        other.is_default = False
        other.save(update_fields=["is_default", "updated_at"])
    pipeline.is_default = True
    pipeline.save(update_fields=["is_default", "updated_at"])
    return pipeline


def _check_stage_flags(stages: Sequence[dict]) -> None:
    names = [(s.get("name") or "").strip().lower() for s in stages]
    if not all(names):
        raise ValidationError({"stages": "Every stage needs a name."})
    if len(set(names)) != len(names):
        raise ValidationError({"stages": "Stage names must differ."})
    if any(s.get("is_won") and s.get("is_lost") for s in stages):
        raise ValidationError({"stages": "A stage is won or lost, not both."})
    for flag in ("is_won", "is_lost"):
        if sum(bool(s.get(flag)) for s in stages) > 1:
            raise ValidationError({"stages": f"A pipeline has at most one {flag[3:]} stage."})
    if all(s.get("is_won") or s.get("is_lost") for s in stages):
        raise ValidationError({"stages": "A pipeline needs at least one open stage."})


@transaction.atomic
def pipeline_create(
    *,
    name: str,
    acting_user: User | None,
    description: str = "",
    is_default: bool = False,
    stages: Sequence[dict] | None = None,
) -> Pipeline:
    """A pipeline with its stages in order (the standard stages when none are given)."""
    access.require(acting_user, Action.CREATE, Resource.PIPELINES)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A pipeline needs a name."})
    if Pipeline.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"A pipeline named '{name}' exists."})
    if stages is None:
        stages = [
            {"name": n, "probability": Decimal(p), "is_won": w, "is_lost": lost}
            for n, p, w, lost in DEFAULT_STAGES
        ]
    _check_stage_flags(stages)
    pipeline = Pipeline.objects.create(name=name, description=description)
    for position, spec in enumerate(stages):
        PipelineStage.objects.create(
            pipeline=pipeline,
            position=position,
            name=spec["name"].strip(),
            probability=_require_percent(spec["probability"], "probability"),
            is_won=bool(spec.get("is_won")),
            is_lost=bool(spec.get("is_lost")),
        )
    if is_default:
        pipeline_set_default(pipeline=pipeline, acting_user=acting_user)
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, acting_user: User | None, **changes) -> Pipeline:
    """Rename or describe a pipeline, or make it the default (`is_default=True`)."""
    access.require(acting_user, Action.UPDATE, Resource.PIPELINES, pipeline)
    _only_fields(changes, {"name", "description", "is_default"}, "This field cannot be changed.")
    pipeline = locked(pipeline)
    before = values_of(pipeline)
    make_default = changes.pop("is_default", None)
    if make_default is False and pipeline.is_default:
        raise ValidationError({"is_default": "Make another pipeline the default instead."})
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        if not changes["name"]:
            raise ValidationError({"name": "A pipeline needs a name."})
        if Pipeline.objects.filter(name__iexact=changes["name"]).exclude(pk=pipeline.pk).exists():
            raise ValidationError({"name": f"A pipeline named '{changes['name']}' exists."})
    for name, value in changes.items():
        setattr(pipeline, name, value)
    save_changed(pipeline, before)
    if make_default:
        pipeline_set_default(pipeline=pipeline, acting_user=acting_user)
    return pipeline


@transaction.atomic
def pipeline_delete(*, pipeline: Pipeline, acting_user: User | None) -> None:
    access.require(acting_user, Action.DELETE, Resource.PIPELINES, pipeline)
    lock_pipeline(pipeline.pk)  # once the deals moved into it meanwhile are in (hold_pipeline)
    if pipeline.is_default:
        raise InvalidTransition("Make another pipeline the default before deleting this one.")
    if Opportunity.objects.open().filter(pipeline=pipeline).exists():
        raise InvalidTransition("The pipeline has open opportunities; move or close them first.")
    pipeline.delete()


def _stage_siblings(pipeline: Pipeline, exclude=None) -> list[dict]:
    stages = pipeline.stages.exclude(pk=exclude.pk) if exclude is not None else pipeline.stages
    return list(stages.values("name", "is_won", "is_lost"))


@transaction.atomic
def stage_save(
    *, acting_user: User | None, stage: PipelineStage | None = None, **fields
) -> PipelineStage:
    """Add a stage to a pipeline, or change one; opportunities keep their probability.
    The pipeline and its stages are locked first, in their one order (`lock_pipeline`)."""
    if stage is None:
        access.require(acting_user, Action.CREATE, Resource.PIPELINES)
        stage = PipelineStage(pipeline=fields.pop("pipeline"))
        lock_pipeline(stage.pipeline_id)
    else:
        access.require(acting_user, Action.UPDATE, Resource.PIPELINES, stage)
        if "pipeline" in fields and fields.pop("pipeline").pk != stage.pipeline_id:
            raise ValidationError({"pipeline": "A stage stays in its pipeline."})
        lock_pipeline(stage.pipeline_id)
        stage = locked(stage)
    _only_fields(
        fields,
        {"name", "position", "probability", "is_won", "is_lost"},
        "This field cannot be set.",
    )
    before = values_of(stage)
    flags_before = (stage.is_won, stage.is_lost)
    for name, value in fields.items():
        setattr(stage, name, value)
    stage.name = (stage.name or "").strip()
    _require_percent(stage.probability, "probability")
    if (
        not stage._state.adding
        and (stage.is_won, stage.is_lost) != flags_before
        and Opportunity.objects.filter(stage=stage).exists()
    ):
        raise ValidationError(
            {"is_won": "Opportunities are in this stage: its won/lost flags stay."}
        )
    pipeline = Pipeline.objects.get(pk=stage.pipeline_id)  # locked above
    current = {"name": stage.name, "is_won": stage.is_won, "is_lost": stage.is_lost}
    _check_stage_flags([*_stage_siblings(pipeline, exclude=stage if stage.pk else None), current])
    if stage._state.adding:
        stage.save()
    else:  # the fields changed, not the row as read: another's change of the rest stays
        save_changed(stage, before)
    return stage


@transaction.atomic
def stage_delete(*, stage: PipelineStage, acting_user: User | None) -> None:
    access.require(acting_user, Action.DELETE, Resource.PIPELINES, stage)
    lock_pipeline(stage.pipeline_id)  # once the deals moved into it meanwhile are in
    if Opportunity.objects.filter(stage=stage).exists():
        raise InvalidTransition("Opportunities are in this stage; move them first.")
    stage.delete()


def _first_open_stage(pipeline: Pipeline) -> PipelineStage:
    stage = pipeline.stages.filter(is_won=False, is_lost=False).order_by("position").first()
    if stage is None:
        raise ValidationError({"pipeline": f"The pipeline '{pipeline}' has no open stage."})
    return stage


# --- opportunities ------------------------------------------------------------------


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    acting_user: User | None,
    name: str = "",
    value: Decimal = Decimal("0"),
    currency: str = "",
    owner: User | None = None,
    expected_close_date: dt.date | None = None,
    pipeline: Pipeline | None = None,
) -> Opportunity:
    """A qualified lead becomes an opportunity in the first stage of the (default) pipeline.
    It takes the lead's sale (one open opportunity a lead): whoever's role may change the
    lead, not a colleague it is shared with, for viewing or for editing (ADR 0041)."""
    access.require(acting_user, Action.CREATE, Resource.OPPORTUNITIES)
    access.require(acting_user, Action.UPDATE, Resource.LEADS, lead)
    refuse_converting_a_share(acting_user, lead, Resource.LEADS)
    refuse_if_erased(lead, for_update=True)
    lead = locked(lead, "company")
    if lead.status not in CONVERTIBLE_LEAD_STATUSES:
        raise InvalidTransition(
            f"Only a qualified lead can be converted into an opportunity; this lead is "
            f"'{lead.status}'. Qualify it first.",
            allowed=CONVERTIBLE_LEAD_STATUSES,
        )
    if Opportunity.objects.open().filter(lead=lead).exists():
        raise InvalidTransition("This lead already has an open opportunity.", allowed=())
    owner = owner or lead.assigned_to or acting_user
    _check_assignee(acting_user, owner, Resource.OPPORTUNITIES, "owner")
    pipeline = pipeline or default_pipeline()
    hold_pipeline(pipeline.pk)  # its first stage is not deleted before the deal is in it
    stage = _first_open_stage(pipeline)
    return Opportunity.objects.create(
        lead=lead,
        pipeline=pipeline,
        stage=stage,
        name=(name or "").strip() or f"Website for {lead.company.name}",
        value=_require_money(value, "value"),
        currency=require_currency(currency or organization_currency()),
        probability=stage.probability,
        owner=owner,
        expected_close_date=expected_close_date,
    )


@transaction.atomic
def opportunity_update(
    *, opportunity: Opportunity, acting_user: User | None, **changes
) -> Opportunity:
    """Edit the plain fields of an opportunity (stage and status move by workflow only)."""
    allowed = {"name", "value", "currency", "probability", "owner", "expected_close_date"}
    _only_fields(changes, allowed, "This field is changed by a workflow step.")
    access.require(acting_user, Action.UPDATE, Resource.OPPORTUNITIES, opportunity)
    refuse_if_row_erased(opportunity)
    opportunity = locked(opportunity)
    before = values_of(opportunity)
    if "value" in changes:
        changes["value"] = _require_money(changes["value"], "value")
    if "probability" in changes:
        changes["probability"] = _require_percent(changes["probability"], "probability")
    if "currency" in changes:
        changes["currency"] = require_currency(changes["currency"])
        if (
            changes["currency"] != opportunity.currency
            and opportunity.proposals.exclude(currency=changes["currency"]).exists()
        ):
            raise ValidationError(
                {"currency": "The opportunity has proposals in another currency."}
            )
    if "owner" in changes and changes["owner"] != opportunity.owner:
        refuse_reassigning_by_a_share(acting_user, opportunity, Resource.OPPORTUNITIES, "owner")
        _check_assignee(acting_user, changes["owner"], Resource.OPPORTUNITIES, "owner")
    if "name" in changes and not (changes["name"] or "").strip():
        raise ValidationError({"name": "An opportunity needs a name."})
    for name, value in changes.items():
        setattr(opportunity, name, value)
    save_changed(opportunity, before)
    return opportunity


def _close(opportunity: Opportunity, stage: PipelineStage, lost_reason: str) -> None:
    if stage.is_won:
        opportunity.status = OpportunityStatus.WON
        opportunity.lost_reason = ""
    elif stage.is_lost:
        reason = (lost_reason or "").strip()
        if not reason:
            raise ValidationError({"lost_reason": "Say why the opportunity was lost."})
        opportunity.status = OpportunityStatus.LOST
        opportunity.lost_reason = reason
    opportunity.closed_at = timezone.now()


@transaction.atomic
def opportunity_move_stage(
    *,
    opportunity: Opportunity,
    stage: PipelineStage,
    acting_user: User | None,
    probability: Decimal | None = None,
    lost_reason: str = "",
    won_reason: str = "",
    reopen: bool = False,
    seen_stage_id=None,
) -> Opportunity:
    """Move to another stage of the same pipeline. The probability follows the stage unless
    given; a won or lost stage closes the opportunity; a closed one moves only when
    `reopen` says so explicitly. Why it was won, if said, is the change reason of the
    history entry of the move (an opportunity has no field for it). `seen_stage_id`: the
    stage the mover saw the deal in; moved elsewhere by then, it is not moved again
    (`_refuse_moved_meanwhile`). A move to where the deal is already changes nothing
    (`_already_there`)."""
    access.require(acting_user, Action.UPDATE, Resource.OPPORTUNITIES, opportunity)
    # The deal alone is locked, not its stage: moves of deals of one stage run side by side.
    # Nor is the stage joined: a move that waited for another one's lock would re-check the
    # join with the deal's new stage against the stage it read first, and find no deal.
    refuse_if_row_erased(opportunity)
    opportunity = locked(opportunity)
    _refuse_moved_meanwhile(opportunity, seen_stage_id)
    if _already_there(opportunity, stage, probability, reopen):
        return opportunity
    previous_stage, previous_status = opportunity.stage, opportunity.status
    if stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationError({"stage": "This stage belongs to another pipeline."})
    # Held before the stage is read: a delete of it has committed by now, or waits until
    # the deal is in it (crm.pipeline_locks).
    hold_pipeline(stage.pipeline_id)
    if not PipelineStage.objects.filter(pk=stage.pk).exists():
        raise ValidationError({"stage": "This stage has been deleted."})
    if not opportunity.is_open:
        if not reopen:
            raise InvalidTransition(
                f"The opportunity is {opportunity.status}; reopen it explicitly to move it.",
                allowed=["reopen"],
            )
        if stage.is_closed:
            raise ValidationError({"stage": "Reopen into an open stage."})
        if Opportunity.objects.open().filter(lead_id=opportunity.lead_id).exists():
            raise InvalidTransition("The lead already has another open opportunity.")
        opportunity.status = OpportunityStatus.OPEN
        opportunity.closed_at = None
        opportunity.lost_reason = ""
    opportunity.stage = stage
    opportunity.probability = (
        _require_percent(probability, "probability")
        if probability is not None
        else stage.probability
    )
    if stage.is_closed:
        _close(opportunity, stage, lost_reason)
    if stage.is_won and won_reason.strip():
        opportunity._change_reason = won_reason.strip()[:WON_REASON_MAX_LENGTH]
    opportunity.save()
    if previous_stage != stage:
        outbox.emit(
            EventType.OPPORTUNITY_STAGE_CHANGED,
            {
                "opportunity": payloads.opportunity(opportunity),
                "previous_stage": payloads.stage(previous_stage),
                "stage": payloads.stage(stage),
            },
        )
    _report_closing(opportunity, previous_status)
    return opportunity


def _already_there(
    opportunity: Opportunity, stage: PipelineStage, probability, reopen: bool
) -> bool:
    """Whether a move of the locked `opportunity` would leave it as it is: into the stage
    it is in, at the probability it has, not reopening it. A client's retry of a move
    that was made: it writes nothing (no history row, no new version, no event) and is
    answered as the move was."""
    if stage.pk != opportunity.stage_id or (reopen and not opportunity.is_open):
        return False
    return probability is None or (
        _require_percent(probability, "probability") == opportunity.probability
    )


def _refuse_moved_meanwhile(opportunity: Opportunity, seen_stage_id) -> None:
    """Refuse a move of the locked `opportunity` decided on a stage it has left since: of
    several people moving one deal at once, each from the stage they saw, one moves it
    and the others are told where it is now, not told it moved (or moved once more)."""
    if seen_stage_id is None or str(opportunity.stage_id) == str(seen_stage_id):
        return
    raise InvalidTransition(
        f"It was moved meanwhile: it is now in the stage “{opportunity.stage}”, and was not"
        " moved again."
    )


@transaction.atomic
def opportunity_move_to_next_stage(
    *, opportunity: Opportunity, acting_user: User | None, seen_stage_id=None
) -> Opportunity:
    """Into the next stage of its pipeline after the one it is in (a lost stage skipped),
    worked out from its locked row: two moves at once move it two stages only when the
    second was decided on the stage the first moved it to (`seen_stage_id`)."""
    access.require(acting_user, Action.UPDATE, Resource.OPPORTUNITIES, opportunity)
    refuse_if_row_erased(opportunity)
    current = locked(opportunity)  # not its stage: a stage's edit locks it
    _refuse_moved_meanwhile(current, seen_stage_id)
    stage = (
        PipelineStage.objects.filter(
            pipeline_id=current.pipeline_id, position__gt=current.stage.position, is_lost=False
        )
        .order_by("position")
        .first()
    )
    if stage is None:
        raise ValidationError(f"It is in the last stage, “{current.stage}”.")
    return opportunity_move_stage(opportunity=current, stage=stage, acting_user=acting_user)


def _report_closing(opportunity: Opportunity, previous_status: str) -> None:
    """`opportunity.won` or `.lost` when this change closed the opportunity."""
    if opportunity.status == previous_status:
        return
    closed = {
        OpportunityStatus.WON: EventType.OPPORTUNITY_WON,
        OpportunityStatus.LOST: EventType.OPPORTUNITY_LOST,
    }.get(opportunity.status)
    if closed is not None:
        outbox.emit(closed, {"opportunity": payloads.opportunity(opportunity)})


def _win(opportunity: Opportunity) -> Opportunity:
    if opportunity.status == OpportunityStatus.WON:
        return opportunity
    won = opportunity.pipeline.stage_flagged("is_won")
    if won is not None:
        return opportunity_move_stage(opportunity=opportunity, stage=won, acting_user=None)
    previous_status = opportunity.status
    opportunity.status = OpportunityStatus.WON
    opportunity.probability = Decimal("100")
    opportunity.closed_at = timezone.now()
    opportunity.save()
    _report_closing(opportunity, previous_status)
    return opportunity


# --- proposals ----------------------------------------------------------------------


def _lines(lines: Sequence[pricing.LineInput]) -> list[tuple[pricing.LineInput, pricing.Amounts]]:
    priced = []
    for index, line in enumerate(lines):
        pricing.validate_line(line, index=index)
        amounts = pricing.line_amounts(line)
        if line.expected_total is not None and line.expected_total != amounts.total:
            raise ValidationError(
                {
                    f"lines[{index}]": f"The line adds up to {amounts.total}, not "
                    f"{line.expected_total}: quantity × unit price − discount + tax."
                }
            )
        priced.append((line, amounts))
    return priced


def _check_expected(totals: pricing.Amounts, expected_total: Decimal | None) -> None:
    """A client that sends its own total must agree with ours, to the cent."""
    if expected_total is not None and expected_total != totals.total:
        raise ValidationError(
            {
                "total": f"The lines add up to {totals.total}, not {expected_total}: "
                "subtotal − discount + tax per line."
            }
        )


# A proposal's line as stored and as shown.
LINE_FIELDS = (
    "position",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "subtotal",
    "discount_amount",
    "tax_amount",
    "total",
)


def _write_lines(proposal: Proposal, priced) -> bool:
    """Replace the proposal's lines with `priced` and set its totals; whether the lines
    changed. The same lines again are not written (no history, the version stays)."""
    _set_totals(proposal, pricing.sum_amounts(amounts for _, amounts in priced))
    lines = [
        {
            "position": position,
            "description": line.description.strip(),
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "tax_rate": line.tax_rate,
            "subtotal": amounts.subtotal,
            "discount_amount": amounts.discount,
            "tax_amount": amounts.tax,
            "total": amounts.total,
        }
        for position, (line, amounts) in enumerate(priced)
    ]
    stored = list(proposal.line_items.order_by("position"))
    if [{name: getattr(old, name) for name in LINE_FIELDS} for old in stored] == lines:
        return False
    for old in stored:
        old.delete(hard=True)
    for line in lines:
        ProposalLineItem.objects.create(
            organization_id=proposal.organization_id, proposal=proposal, **line
        )
    return True


def _set_totals(proposal: Proposal, totals: pricing.Amounts) -> None:
    proposal.subtotal = totals.subtotal
    proposal.discount_total = totals.discount
    proposal.tax_total = totals.tax
    proposal.total = totals.total


def _require_draft(proposal: Proposal) -> None:
    if proposal.status != ProposalStatus.DRAFT:
        raise InvalidTransition(
            f"Only a draft proposal can be edited; this one is {proposal.status}.",
            allowed=PROPOSAL_TRANSITIONS[proposal.status],
        )


def proposal_check_opportunity(*, opportunity: Opportunity, currency: str = "") -> str:
    """A new proposal is for an open opportunity, in its currency; returns the currency."""
    if not opportunity.is_open:
        raise InvalidTransition(
            f"The opportunity is {opportunity.status}; proposals are for open opportunities."
        )
    currency = require_currency(currency) if currency else opportunity.currency
    if currency != opportunity.currency:
        raise ValidationError(
            {"currency": f"The opportunity is priced in {opportunity.currency}, not {currency}."}
        )
    return currency


@transaction.atomic
def proposal_reprice(
    *, proposal: Proposal, acting_user: User | None, lines_changed: bool = False
) -> Proposal:
    """Recompute every line's amounts and the totals from the lines' own inputs (after the
    admin edited the lines of a draft). A line or total that comes out the same is not
    written: an unchanged save keeps the proposal's version and adds no history.
    `lines_changed`: the lines were edited (the proposal's version moves with them)."""
    access.require(acting_user, Action.UPDATE, Resource.PROPOSALS, proposal)
    refuse_if_row_erased(proposal)
    proposal = locked(proposal)
    _require_draft(proposal)
    all_amounts = []
    for item in proposal.line_items.all():
        before = values_of(item)
        line = pricing.LineInput(
            description=item.description,
            quantity=item.quantity,
            unit_price=item.unit_price,
            discount_percent=item.discount_percent,
            tax_rate=item.tax_rate,
        )
        pricing.validate_line(line, index=item.position)
        amounts = pricing.line_amounts(line)
        item.subtotal, item.discount_amount = amounts.subtotal, amounts.discount
        item.tax_amount, item.total = amounts.tax, amounts.total
        save_changed(item, before)
        all_amounts.append(amounts)
    before = values_of(proposal)
    _set_totals(proposal, pricing.sum_amounts(all_amounts))
    save_changed(proposal, before, parts_changed=lines_changed)
    return proposal


@transaction.atomic
def proposal_create(
    *,
    opportunity: Opportunity,
    acting_user: User | None,
    lines: Sequence[pricing.LineInput] = (),
    title: str = "",
    currency: str = "",
    valid_until: dt.date | None = None,
    notes: str = "",
    number: str = "",
    expected_total: Decimal | None = None,
) -> Proposal:
    """A draft proposal for an open opportunity, in the opportunity's currency (a draft
    may start without lines; it needs one to be sent). Work on the deal: for whoever may
    change it and whose role reaches its proposals, not a colleague it is shared with
    (`crm.proposal_reach`)."""
    access.require(acting_user, Action.CREATE, Resource.PROPOSALS)
    access.require(acting_user, Action.UPDATE, Resource.OPPORTUNITIES, opportunity)
    refuse_proposal_by_a_share(acting_user, opportunity)
    refuse_if_row_erased(opportunity)
    opportunity = locked(opportunity)
    currency = proposal_check_opportunity(opportunity=opportunity, currency=currency)
    priced = _lines(lines)
    _check_expected(pricing.sum_amounts(a for _, a in priced), expected_total)
    number = (number or "").strip()
    if number and Proposal.objects.filter(number=number).exists():
        raise ValidationError({"number": f"A proposal numbered {number} exists."})
    proposal = Proposal(
        opportunity=opportunity,
        number=number or _next_number(Proposal, "P"),
        title=(title or "").strip() or opportunity.name,
        currency=currency,
        valid_until=valid_until,
        notes=notes,
        created_by=acting_user,
    )
    proposal.save()
    _write_lines(proposal, priced)
    proposal.save()
    return proposal


@transaction.atomic
def proposal_update(
    *,
    proposal: Proposal,
    acting_user: User | None,
    lines: Sequence[pricing.LineInput] | None = None,
    expected_total: Decimal | None = None,
    **changes,
) -> Proposal:
    """Edit a draft: title, validity, notes, and its lines (replaced as a whole)."""
    access.require(acting_user, Action.UPDATE, Resource.PROPOSALS, proposal)
    refuse_if_row_erased(proposal)
    proposal = locked(proposal)
    before = values_of(proposal)
    _require_draft(proposal)
    _only_fields(
        changes, {"title", "valid_until", "notes", "currency"}, "This field cannot be changed."
    )
    if "currency" in changes and require_currency(changes["currency"]) != proposal.currency:
        raise ValidationError({"currency": "A proposal stays in its opportunity's currency."})
    changes.pop("currency", None)
    for name, value in changes.items():
        setattr(proposal, name, value)
    lines_changed = False
    if lines is not None:
        priced = _lines(lines)
        _check_expected(pricing.sum_amounts(a for _, a in priced), expected_total)
        lines_changed = _write_lines(proposal, priced)
    # The lines are part of the proposal as shown: the version moves with them.
    save_changed(proposal, before, parts_changed=lines_changed)
    return proposal


@transaction.atomic
def proposal_send(*, proposal: Proposal, acting_user: User | None, email: bool = True) -> Proposal:
    """Mark the proposal sent and, unless `email` is False (handed over another way, or
    demo data), email it with its PDF when the lead has an address (refused if it may not
    be written to)."""
    proposal = _step(proposal, ProposalStatus.SENT, acting_user)
    if not proposal.line_items.exists():
        raise ValidationError({"lines": "A proposal needs at least one line to be sent."})
    if proposal.valid_until is not None and proposal.valid_until < time_zones.organization_today():
        # The customer could not accept it: the offer would be refused as expired.
        raise ValidationError(
            {"valid_until": f"Its last valid day, {proposal.valid_until:%Y-%m-%d}, has passed."}
        )
    proposal.status = ProposalStatus.SENT
    proposal.sent_at = timezone.now()
    proposal.save(update_fields=["status", "sent_at", "updated_at"])
    if email:
        mailing.email_document(record=proposal, kind=MessageKind.PROPOSAL, acting_user=acting_user)
    return proposal


@transaction.atomic
def proposal_mark_viewed(*, proposal: Proposal, acting_user: User | None) -> Proposal:
    proposal = _step(proposal, ProposalStatus.VIEWED, acting_user)
    proposal.status = ProposalStatus.VIEWED
    proposal.viewed_at = timezone.now()
    proposal.save(update_fields=["status", "viewed_at", "updated_at"])
    return proposal


def proposal_answer_refusal(
    *, proposal: Proposal, opportunity: Opportunity
) -> InvalidTransition | None:
    """Why a proposal its status lets be answered (accepted or rejected) cannot be now (it
    expired, or its deal is closed), or None: what the services refuse and the admin does
    not offer, for both answers alike."""
    if proposal.valid_until is not None and proposal.valid_until < time_zones.organization_today():
        return InvalidTransition(
            f"The proposal expired on {proposal.valid_until:%Y-%m-%d}; send a new one.",
            allowed=[ProposalStatus.EXPIRED],
        )
    if not opportunity.is_open:
        return InvalidTransition(f"The opportunity is already {opportunity.status}.")
    return None


@transaction.atomic
def proposal_accept(*, proposal: Proposal, acting_user: User | None) -> Contract:
    """The customer accepts: the opportunity takes the proposal's value, and a draft
    contract is drawn from it. Returns the contract."""
    proposal = _step(proposal, ProposalStatus.ACCEPTED, acting_user)
    today = time_zones.organization_today()
    opportunity = Opportunity.objects.select_for_update().get(pk=proposal.opportunity_id)
    refusal = proposal_answer_refusal(proposal=proposal, opportunity=opportunity)
    if refusal is not None:
        raise refusal
    proposal.status = ProposalStatus.ACCEPTED
    proposal.accepted_at = timezone.now()
    proposal.save(update_fields=["status", "accepted_at", "updated_at"])
    opportunity.value = proposal.total
    opportunity.save()
    contract = Contract.objects.create(
        opportunity=opportunity,
        proposal=proposal,
        number=_next_number(Contract, "C"),
        title=proposal.title,
        value=proposal.total,
        currency=proposal.currency,
        start_date=today,
    )
    outbox.emit(
        EventType.PROPOSAL_ACCEPTED,
        {"proposal": payloads.proposal(proposal), "contract": contract.pk},
    )
    notification_events.proposal_accepted(
        proposal=proposal, opportunity=opportunity, acting_user=acting_user
    )
    return contract


@transaction.atomic
def proposal_reject(*, proposal: Proposal, acting_user: User | None, reason: str = "") -> Proposal:
    """The customer declines: refused, like accepting, once the proposal expired or its
    deal closed."""
    proposal = _step(proposal, ProposalStatus.REJECTED, acting_user)
    opportunity = Opportunity.objects.select_for_update().get(pk=proposal.opportunity_id)
    refusal = proposal_answer_refusal(proposal=proposal, opportunity=opportunity)
    if refusal is not None:
        raise refusal
    proposal.status = ProposalStatus.REJECTED
    proposal.rejected_at = timezone.now()
    proposal.rejection_reason = (reason or "").strip()
    proposal.save(update_fields=["status", "rejected_at", "rejection_reason", "updated_at"])
    return proposal


PROPOSAL_EXPIRABLE = (ProposalStatus.SENT, ProposalStatus.VIEWED)


@transaction.atomic
def proposals_expire(*, today: dt.date | None = None) -> int:
    """Expire the sent proposals whose last valid day (`valid_until`) has passed, and tell
    each deal's owner; how many. Each goes through its locked row's save, so its history
    records the change and why; a proposal answered meanwhile is left as it is. The
    periodic job `crm.expire_proposals` runs this in each organization: run again, it
    finds nothing left to expire."""
    today = today or time_zones.organization_today()
    due = Proposal.objects.filter(status__in=PROPOSAL_EXPIRABLE, valid_until__lt=today)
    expired = 0
    for proposal in due.order_by("valid_until"):
        try:
            proposal = _step(proposal, ProposalStatus.EXPIRED, None)
        except InvalidTransition:
            continue
        proposal.status = ProposalStatus.EXPIRED
        proposal._change_reason = f"Valid until {proposal.valid_until:%Y-%m-%d}, not answered."
        proposal.save(update_fields=["status", "updated_at"])
        notification_events.proposal_expired(proposal=proposal)
        expired += 1
    return expired


# --- contracts ----------------------------------------------------------------------


@transaction.atomic
def contract_send(*, contract: Contract, acting_user: User | None, email: bool = True) -> Contract:
    """Mark the contract sent, and email it as `proposal_send` does its proposal."""
    contract = _step(contract, ContractStatus.SENT, acting_user)
    contract.status = ContractStatus.SENT
    contract.sent_at = timezone.now()
    contract.save(update_fields=["status", "sent_at", "updated_at"])
    if email:
        mailing.email_document(record=contract, kind=MessageKind.CONTRACT, acting_user=acting_user)
    return contract


@transaction.atomic
def contract_sign(
    *,
    contract: Contract,
    signer_name: str,
    acting_user: User | None,
    signer_email: str = "",
    signed_at: dt.datetime | None = None,
) -> Contract:
    """Signed: the opportunity is won, the company becomes a customer, the lead converted."""
    contract = _step(contract, ContractStatus.SIGNED, acting_user, updates_lead=True)
    if not (signer_name or "").strip():
        raise ValidationError({"signer_name": "Who signed the contract?"})
    signed_at = signed_at or timezone.now()
    if signed_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"signed_at": "A contract cannot be signed in the future."})
    opportunity = Opportunity.objects.select_for_update().get(pk=contract.opportunity_id)
    if opportunity.status == OpportunityStatus.LOST:
        raise InvalidTransition(
            "The opportunity was lost; reopen it before recording a signature.",
            allowed=["reopen"],
        )
    contract.status = ContractStatus.SIGNED
    contract.signed_at = signed_at
    contract.signer_name = signer_name.strip()
    contract.signer_email = (signer_email or "").strip()
    contract.save(
        update_fields=["status", "signed_at", "signer_name", "signer_email", "updated_at"]
    )
    _win(opportunity)
    # The consequences below are the system's: the user was authorized for the signature.
    lead = Lead.objects.select_related("company").get(pk=opportunity.lead_id)
    if not lead.company.is_customer:
        lead_services.company_update(
            company=lead.company,
            acting_user=None,
            data={
                "is_customer": True,
                "customer_since": timezone.localdate(signed_at, time_zones.organization_zone()),
            },
        )
    lead_services.lead_change_status(
        lead=lead,
        status=LeadStatus.CONVERTED,
        acting_user=None,
        reason=f"Contract {contract.number} signed by {contract.signer_name}.",
    )
    outbox.emit(EventType.CONTRACT_SIGNED, {"contract": payloads.contract(contract)})
    return contract


def contract_dates_check(start_date: dt.date | None, end_date: dt.date | None) -> None:
    """A contract ends on or after its start (either may be open)."""
    if start_date and end_date and end_date < start_date:
        raise ValidationError({"end_date": "The end is before the start."})


@transaction.atomic
def contract_update(*, contract: Contract, acting_user: User | None, **changes) -> Contract:
    """Edit the wording, dates and signatory of a contract that is not signed yet."""
    access.require(acting_user, Action.UPDATE, Resource.CONTRACTS, contract)
    refuse_if_row_erased(contract)
    contract = locked(contract)
    before = values_of(contract)
    if contract.status not in (ContractStatus.DRAFT, ContractStatus.SENT):
        raise InvalidTransition(
            f"The contract is {contract.status}; a signed contract is not edited.",
            allowed=CONTRACT_TRANSITIONS[contract.status],
        )
    _only_fields(
        changes,
        {
            "title",
            "start_date",
            "end_date",
            "terms",
            "signer_name",
            "signer_email",
        },
        "This field cannot be changed.",
    )
    for name, value in changes.items():
        setattr(contract, name, value)
    contract_dates_check(contract.start_date, contract.end_date)
    save_changed(contract, before)
    return contract


@transaction.atomic
def contract_set_status(*, contract: Contract, status: str, acting_user: User | None) -> Contract:
    """The later life of a contract: active, terminated, expired."""
    if status in (ContractStatus.SIGNED, ContractStatus.SENT):
        raise ValidationError({"status": f"Use the {status.removesuffix('ed')} step."})
    contract = _step(contract, status, acting_user)
    contract.status = status
    contract.save(update_fields=["status", "updated_at"])
    return contract


# --- campaigns ----------------------------------------------------------------------

DEFAULT_TARGET_STATUSES = [
    LeadStatus.NEW,
    LeadStatus.CONTACTED,
    LeadStatus.QUALIFIED,
    LeadStatus.NURTURING,
]


def validate_lead_filter(value) -> dict:
    """The campaign's declared lead filter (crm.json_schemas), its score range in order."""
    json_schema.validate(Campaign, "lead_filter", value)
    if value.get("min_score", 0) > value.get("max_score", 100):
        raise ValidationError({"lead_filter": ["min_score: the minimum is above the maximum."]})
    return value


def _contactable() -> Q:
    # The company's phone only for a lead without its own: asked as a join, it made the
    # planner read every company of the organization (130,000 at 1M) for any target count.
    company_phone = Company.all_objects.filter(pk=OuterRef("company_id")).exclude(phone="")
    has_phone = ~Q(contact_phone="") | Exists(company_phone)
    return Q(do_not_contact=False, consent_to_contact=True) & has_phone


def leads_matching(spec: dict) -> QuerySet[Lead]:
    """The contactable leads a campaign's lead filter `spec` selects (calls aside)."""
    leads = Lead.objects.filter(_contactable()).filter(
        status__in=spec.get("statuses") or DEFAULT_TARGET_STATUSES
    )
    if spec.get("sources"):
        leads = leads.filter(source__in=spec["sources"])
    if spec.get("business_types"):
        leads = leads.filter(company__business_type__in=spec["business_types"])
    if spec.get("website_statuses"):
        leads = leads.filter(company__online_presence__website_status__in=spec["website_statuses"])
    if "min_score" in spec:
        leads = leads.filter(lead_score__gte=spec["min_score"])
    if "max_score" in spec:
        leads = leads.filter(lead_score__lte=spec["max_score"])
    if spec.get("tags"):
        leads = leads.filter(tags__name__in=spec["tags"]).distinct()
    return leads


def campaign_targets(campaign: Campaign) -> QuerySet[Lead]:
    """Leads the campaign may call now, best score first: matching its filter, consenting,
    not on the do-not-contact list, with a phone, not finished with in this campaign
    (completed, or out of attempts) and with no call in flight anywhere."""
    leads = leads_matching(campaign.lead_filter or {})
    in_flight = AICall.objects.filter(
        lead=OuterRef("pk"), status__in=[AICallStatus.QUEUED, AICallStatus.IN_PROGRESS]
    )
    # The leads this campaign is done with, from one pass over its calls (a hashed set),
    # not a count of calls per matching lead: 130,000 probes for a large organization.
    finished = (
        AICall.objects.filter(campaign=campaign)
        .order_by()
        .values("lead")
        .annotate(
            attempts=Count("pk"),
            completed=Count("pk", filter=Q(status=AICallStatus.COMPLETED)),
        )
        .filter(Q(attempts__gte=campaign.max_attempts_per_lead) | Q(completed__gt=0))
        .values("lead")
    )
    return (
        leads.exclude(Exists(in_flight))
        .exclude(pk__in=finished)
        .order_by("-lead_score", "created_at")
    )


def calling_window_open(campaign: Campaign, now: dt.datetime) -> bool:
    local = now.astimezone(campaign.zone)
    return (
        local.weekday() in campaign.calling_days
        and campaign.calling_hours_start <= local.time() < campaign.calling_hours_end
        and (campaign.starts_at is None or now >= campaign.starts_at)
        and (campaign.ends_at is None or now < campaign.ends_at)
    )


def next_window_start(campaign: Campaign, after: dt.datetime) -> dt.datetime | None:
    """When calling hours next open after `after` (within the schedule), or None."""
    after = max(after, campaign.starts_at) if campaign.starts_at else after
    local = after.astimezone(campaign.zone)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        if day.weekday() not in campaign.calling_days:
            continue
        opens = dt.datetime.combine(day, campaign.calling_hours_start, tzinfo=campaign.zone)
        closes = dt.datetime.combine(day, campaign.calling_hours_end, tzinfo=campaign.zone)
        start = max(opens, after)
        if start < closes:
            if campaign.ends_at is not None and start >= campaign.ends_at:
                return None
            return start
    return None


CAMPAIGN_FIELDS = {
    "name",
    "description",
    "script",
    "provider",
    "starts_at",
    "ends_at",
    "calling_hours_start",
    "calling_hours_end",
    "calling_days",
    "timezone",
    "lead_filter",
    "daily_call_limit",
    "total_call_limit",
    "max_attempts_per_lead",
}


@transaction.atomic
def campaign_save(
    *, acting_user: User | None, campaign: Campaign | None = None, **fields
) -> Campaign:
    """Create a campaign (a draft) or change one that has not finished."""
    _only_fields(fields, CAMPAIGN_FIELDS, "This field cannot be set.")
    if campaign is None:
        access.require(acting_user, Action.CREATE, Resource.CAMPAIGNS)
        campaign = Campaign(created_by=acting_user)
    else:
        access.require(acting_user, Action.UPDATE, Resource.CAMPAIGNS, campaign)
        campaign = locked(campaign)
        if campaign.is_final:
            raise InvalidTransition(f"The campaign is {campaign.status}; it can no longer change.")
    before = None if campaign._state.adding else values_of(campaign)
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.name = (campaign.name or "").strip()
    if not campaign.name:
        raise ValidationError({"name": "A campaign needs a name."})
    if Campaign.objects.filter(name__iexact=campaign.name).exclude(pk=campaign.pk).exists():
        raise ValidationError({"name": f"A campaign named '{campaign.name}' exists."})
    validate_lead_filter(campaign.lead_filter)
    try:
        campaign.full_clean(
            exclude=["organization", "deleted_by", "created_by"],
            validate_unique=False,
            validate_constraints=True,
        )
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    if before is None:
        campaign.save()
    else:
        save_changed(campaign, before)
    return campaign


@transaction.atomic
def campaign_launch(*, campaign: Campaign, acting_user: User | None) -> Campaign:
    """Start (or resume) calling. The first run is queued when the transaction commits."""
    campaign = _step(campaign, CampaignStatus.ACTIVE, acting_user)
    if not campaign.script.strip():
        raise ValidationError({"script": "The AI agent needs a script or prompt."})
    try:
        get_provider(campaign.provider)
    except ProviderNotConfigured as exc:
        raise ValidationError({"provider": str(exc)}) from exc
    if not AICallWebhookSecret.objects.exists():
        raise ValidationError(
            {"webhook_secret": "Create the webhook secret and give it to the provider first."}
        )
    if campaign.ends_at is not None and campaign.ends_at <= timezone.now():
        raise ValidationError({"ends_at": "The campaign's schedule has already ended."})
    campaign.status = CampaignStatus.ACTIVE
    campaign.launched_at = campaign.launched_at or timezone.now()
    campaign.paused_at = None
    campaign.save(update_fields=["status", "launched_at", "paused_at", "updated_at"])
    _schedule_run(campaign, at=None)
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign, acting_user: User | None) -> Campaign:
    """Stop placing calls; queued calls wait for the campaign to resume."""
    campaign = _step(campaign, CampaignStatus.PAUSED, acting_user)
    campaign.status = CampaignStatus.PAUSED
    campaign.paused_at = timezone.now()
    campaign.save(update_fields=["status", "paused_at", "updated_at"])
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, acting_user: User | None) -> Campaign:
    campaign = _step(campaign, CampaignStatus.CANCELLED, acting_user)
    campaign.status = CampaignStatus.CANCELLED
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


def _schedule_run(campaign: Campaign, at: dt.datetime | None) -> None:
    from crm import jobs

    _defer_on_commit(
        jobs.defer_campaign_run,
        organization_id=campaign.organization_id,
        campaign_id=campaign.pk,
        at=at,
    )


def _schedule_call(organization_id, ai_call_id) -> None:
    from crm import jobs

    _defer_on_commit(jobs.defer_place_call, organization_id=organization_id, ai_call_id=ai_call_id)


def _defer_on_commit(defer: Callable[..., None], **arguments) -> None:
    """`defer(**arguments)` (a job of crm.jobs queued) once the transaction commits.
    Robust, as a webhook's nudge (`webhooks.outbox.nudge_on_commit`): the write is
    committed by then, and the minute's sweep (`crm.jobs.sweep`) queues a pass or a call
    that is due with no job, so a queueing that fails (the database lost between the
    commit and this) is logged, not answered as a failure of the request that did
    commit."""

    @functools.wraps(defer)  # Django names the function when it logs a failure
    def queue():
        defer(**arguments)

    transaction.on_commit(queue, robust=True)


@dataclass(frozen=True)
class CampaignRun:
    queued: int = 0
    next_run_at: dt.datetime | None = None
    completed: bool = False


def _calls_today(campaign: Campaign, now: dt.datetime) -> int:
    local = now.astimezone(campaign.zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return campaign.calls.filter(
        deleted_at__isnull=True, created_at__gte=start, created_at__lt=start + dt.timedelta(days=1)
    ).count()


def _calls_made(campaign: Campaign) -> int:
    return campaign.calls.filter(deleted_at__isnull=True).count()


def _complete(campaign: Campaign, now: dt.datetime, queued: int = 0) -> CampaignRun:
    campaign.status = CampaignStatus.COMPLETED
    campaign.completed_at = now
    campaign.save(update_fields=["status", "completed_at", "updated_at"])
    return CampaignRun(queued=queued, completed=True)


@transaction.atomic
def campaign_run(*, campaign: Campaign, now: dt.datetime | None = None) -> CampaignRun:
    """One pass of an active campaign: queue a call for each target lead the limits allow,
    if calling hours are open, and say when to look again (None: nothing left to do).

    The campaign row is locked for the pass, so two runs never queue the same lead. The
    campaign completes when no target is left (or its total limit is reached) and no call
    is in flight; a daily limit waits for the next day's calling hours.
    """
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.ACTIVE:
        return CampaignRun()
    if campaign.ends_at is not None and now >= campaign.ends_at:
        return _complete(campaign, now)
    if not calling_window_open(campaign, now):
        return CampaignRun(next_run_at=next_window_start(campaign, now))
    allowance = _allowance(campaign, now)
    targets = list(campaign_targets(campaign)[:allowance]) if allowance else []
    for lead in targets:
        call = AICall.objects.create(
            campaign=campaign, lead=lead, provider=campaign.provider, created_at=now
        )
        _schedule_call(call.organization_id, call.pk)
    more_targets, in_flight = _work_left(campaign, now)
    if not more_targets and not in_flight:
        return _complete(campaign, now, queued=len(targets))
    daily_spent = (
        campaign.daily_call_limit is not None
        and _calls_today(campaign, now) >= campaign.daily_call_limit
    )
    if more_targets and daily_spent:
        next_run = next_window_start(campaign, _start_of_next_day(campaign, now))
    else:
        next_run = now + CAMPAIGN_RUN_INTERVAL
    return CampaignRun(queued=len(targets), next_run_at=next_run)


def _work_left(campaign: Campaign, now: dt.datetime) -> tuple[bool, bool]:
    """Whether the campaign has leads left to call, and calls still in flight."""
    total_reached = (
        campaign.total_call_limit is not None and _calls_made(campaign) >= campaign.total_call_limit
    )
    more_targets = not total_reached and campaign_targets(campaign).exists()
    in_flight = campaign.calls.filter(
        deleted_at__isnull=True,
        status__in=[AICallStatus.QUEUED, AICallStatus.IN_PROGRESS],
        created_at__gte=now - PENDING_CALL_HORIZON,
    ).exists()
    return more_targets, in_flight


def _complete_when_done(campaign_id) -> None:
    """A call of the campaign ended: complete the campaign if it was the last one (its
    next pass may be hours away, or its job may have died with a worker)."""
    now = timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.status == CampaignStatus.ACTIVE and _work_left(campaign, now) == (False, False):
        _complete(campaign, now)


def _start_of_next_day(campaign: Campaign, now: dt.datetime) -> dt.datetime:
    local = now.astimezone(campaign.zone)
    tomorrow = local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=campaign.zone)


def _allowance(campaign: Campaign, now: dt.datetime) -> int:
    """How many calls the limits still allow right now (a large number when unlimited)."""
    allowance = 1000
    if campaign.daily_call_limit is not None:
        allowance = min(allowance, campaign.daily_call_limit - _calls_today(campaign, now))
    if campaign.total_call_limit is not None:
        allowance = min(allowance, campaign.total_call_limit - _calls_made(campaign))
    return max(allowance, 0)


def campaign_work_due(now: dt.datetime | None = None) -> tuple[list, QuerySet[AICall]]:
    """The current organization's campaign work that a job should be doing now, committed
    UNQUEUED_AFTER ago or longer: the active campaigns a pass has work for (calling hours
    open, or the schedule over: the pass completes the campaign), and the calls queued by
    a campaign calling now, still to be handed to the provider. `crm.jobs.sweep` queues
    those that no job waits for or runs. A campaign outside its calling hours waits for
    them (its pass then is queued for when they open), and so do its queued calls."""
    now = now or timezone.now()
    settled = now - UNQUEUED_AFTER
    active = list(Campaign.objects.filter(status=CampaignStatus.ACTIVE))
    calling = [campaign.pk for campaign in active if calling_window_open(campaign, now)]
    runs = [
        campaign.pk
        for campaign in active
        if campaign.updated_at < settled
        and (campaign.pk in calling or (campaign.ends_at is not None and now >= campaign.ends_at))
    ]
    calls = AICall.objects.filter(
        campaign__in=calling,
        status=AICallStatus.QUEUED,
        provider_call_id="",
        updated_at__lt=settled,
    ).order_by("created_at")
    return runs, calls


# --- AI calls -------------------------------------------------------------------------


def ai_call_prepare(
    *, ai_call_id, now: dt.datetime | None = None
) -> tuple[str, CallRequest] | None:
    """The provider's name and what it needs to place a queued call, or None when the call
    must not be placed now. A call that waits (campaign paused, calling hours closed) stays
    queued, and the minute's sweep queues it again once its campaign calls
    (`campaign_work_due`); a lead no longer contactable fails it.

    Run twice for one call (its queueing after the commit, come late, beside the sweep's
    job), the second finds the call started and places nothing: the jobs of one call
    never run at once (their procrastinate `lock`, `crm.jobs.defer_place_call`), and a
    second placing would carry the same idempotency key."""
    call = AICall.objects.select_related("campaign", "lead__company").filter(pk=ai_call_id).first()
    if call is None or call.status != AICallStatus.QUEUED or call.provider_call_id:
        return None
    campaign = call.campaign
    if campaign.status != CampaignStatus.ACTIVE or not calling_window_open(
        campaign, now or timezone.now()
    ):
        return None
    lead = call.lead
    phone = lead.contact_phone or lead.company.phone
    if lead.do_not_contact or not lead.consent_to_contact or not phone:
        ai_call_mark_failed(ai_call_id=call.pk, reason="The lead may no longer be called.")
        return None
    return call.provider, CallRequest(
        reference=str(call.pk),
        phone=phone,
        contact_name=lead.contact_name,
        company_name=lead.company.name,
        script=call.campaign.script,
        timezone=call.campaign.timezone,
        metadata={
            "organization_id": str(call.organization_id),
            "campaign_id": str(call.campaign_id),
            "lead_id": str(call.lead_id),
        },
    )


@transaction.atomic
def ai_call_mark_started(*, ai_call_id, started: CallStarted) -> AICall | None:
    call = AICall.objects.select_for_update().filter(pk=ai_call_id).first()
    if call is None or call.status != AICallStatus.QUEUED:
        return call
    call.provider_call_id = started.provider_call_id
    call.status = AICallStatus.IN_PROGRESS
    call.started_at = timezone.now()
    call.save(update_fields=["provider_call_id", "status", "started_at", "updated_at"])
    return call


@transaction.atomic
def ai_call_mark_failed(*, ai_call_id, reason: str) -> AICall | None:
    call = AICall.objects.select_for_update().filter(pk=ai_call_id).first()
    if call is None or call.status in AI_CALL_FINAL_STATUSES:
        return call
    call.status = AICallStatus.FAILED
    call.failure_reason = reason[:300]
    call.save(update_fields=["status", "failure_reason", "updated_at"])
    _complete_when_done(call.campaign_id)
    return call


@dataclass(frozen=True)
class CallReport:
    """What the provider's webhook says about one call (validated by the webhook)."""

    provider_call_id: str
    status: str
    # Our call id, sent as the idempotency key when placing the call and echoed back.
    reference: uuid.UUID | None = None
    started_at: dt.datetime | None = None
    duration_seconds: int | None = None
    recording_url: str = ""
    transcript: str = ""
    summary: str = ""
    sentiment: str = ""
    outcome: str = ""
    cost: Decimal | None = None
    callback_at: dt.datetime | None = None
    meeting_at: dt.datetime | None = None
    analysis: dict = field(default_factory=dict)
    failure_reason: str = ""


# How each outcome is logged on the lead's timeline (leads.choices.Outcome).
INTERACTION_OUTCOME = {
    CallOutcome.INTERESTED: "interested",
    CallOutcome.CALLBACK: "callback_requested",
    CallOutcome.MEETING_BOOKED: "meeting_booked",
    CallOutcome.NOT_INTERESTED: "not_interested",
    CallOutcome.DO_NOT_CALL: "not_interested",
    CallOutcome.VOICEMAIL: "voicemail",
    CallOutcome.WRONG_NUMBER: "wrong_number",
    CallOutcome.NO_ANSWER: "no_answer",
    CallOutcome.OTHER: "other",
}


@transaction.atomic
def ai_call_record_result(*, report: CallReport) -> tuple[AICall, bool]:
    """Record the provider's report of a call. Returns (call, whether anything was written).

    Idempotent on the provider call id: the call row is locked, and a final report is
    recorded once; a repeated or concurrent delivery waits for the lock, then finds the
    result recorded and writes nothing. Raises AICall.DoesNotExist for an unknown call
    (another organization's calls are invisible here).

    A report may come for a call whose placing job died before it stored the provider's
    id: the call is then found by the `reference` the provider echoes, and takes the
    provider's id from the report.

    A final report logs the AI call on the lead's timeline with its analysis (which
    re-scores the lead), creates the follow-up its outcome implies, and completes the
    campaign when it was its last call.
    """
    call = _reported_call(report)
    if call.result_recorded_at is not None or call.status in AI_CALL_FINAL_STATUSES:
        # Recorded already, or closed on our side (the lead opted out or was erased while
        # the call was in flight): a late report writes nothing.
        return call, False
    adopted = not call.provider_call_id
    call.provider_call_id = report.provider_call_id
    if report.status not in AI_CALL_FINAL_STATUSES:
        if call.status == AICallStatus.QUEUED and report.status == AICallStatus.IN_PROGRESS:
            call.status = AICallStatus.IN_PROGRESS
            call.started_at = report.started_at or timezone.now()
            call.save(update_fields=["provider_call_id", "status", "started_at", "updated_at"])
            return call, True
        if adopted:
            call.save(update_fields=["provider_call_id", "updated_at"])
        return call, adopted
    _apply_report(call, report)
    lead = Lead.all_objects.select_related("company").get(pk=call.lead_id)
    # An unanswered or failed attempt reached nobody: no touchpoint on the timeline; nor
    # is there one, or a follow-up, for a lead deleted meanwhile.
    if call.status == AICallStatus.COMPLETED and not lead.is_deleted:
        call.interaction = _log_call(call, lead)
    call.save()
    if not lead.is_deleted:
        _follow_up(call, lead, report)
    _complete_when_done(call.campaign_id)
    outbox.emit(EventType.AI_CALL_COMPLETED, {"ai_call": payloads.ai_call(call)})
    return call, True


def _reported_call(report: CallReport) -> AICall:
    """The call a provider's report is about, locked."""
    calls = AICall.objects.select_for_update(of=("self",)).select_related("campaign")
    try:
        return calls.get(provider_call_id=report.provider_call_id)
    except AICall.DoesNotExist:
        if report.reference is None:
            raise
        return calls.get(pk=report.reference, provider_call_id="")


def _apply_report(call: AICall, report: CallReport) -> None:
    call.status = report.status
    call.started_at = report.started_at or call.started_at
    call.duration_seconds = report.duration_seconds
    if call.started_at and report.duration_seconds is not None:
        call.ended_at = call.started_at + dt.timedelta(seconds=report.duration_seconds)
    call.recording_url = report.recording_url
    call.transcript = report.transcript
    call.summary = report.summary
    call.sentiment = report.sentiment
    call.outcome = report.outcome or (
        CallOutcome.NO_ANSWER if report.status == AICallStatus.NO_ANSWER else ""
    )
    call.cost = report.cost
    call.analysis = report.analysis
    call.failure_reason = report.failure_reason[:300]
    call.result_recorded_at = timezone.now()


def _log_call(call: AICall, lead: Lead) -> Interaction:
    analysis = {
        **call.analysis,
        "summary": call.summary,
        "outcome": call.outcome,
        "ai_call_id": str(call.pk),
        "campaign_id": str(call.campaign_id),
        "provider": call.provider,
        "provider_call_id": call.provider_call_id,
        "recording_url": call.recording_url,
    }
    if call.sentiment:
        analysis["sentiment"] = call.sentiment
    return lead_services.interaction_log(
        lead=lead,
        acting_user=None,
        data={
            "type": InteractionType.AI_CALL,
            "direction": Direction.OUTBOUND,
            "subject": f"AI call: {call.campaign.name}"[:200],
            "content": call.transcript or call.summary,
            "occurred_at": min(call.started_at or timezone.now(), timezone.now()),
            "duration_seconds": call.duration_seconds,
            "outcome": INTERACTION_OUTCOME.get(call.outcome, ""),
            "ai_analysis": analysis,
        },
    )


def _move_lead(lead: Lead, preferred: Sequence[str], reason: str) -> None:
    """Move the lead to the first of `preferred` its workflow allows from where it is."""
    allowed = lead_services.allowed_transitions(lead.status)
    for status in preferred:
        if status == lead.status:
            return
        if status in allowed:
            lead_services.lead_change_status(
                lead=lead, status=status, acting_user=None, reason=reason
            )
            lead.refresh_from_db()
            return


def _follow_up(call: AICall, lead: Lead, report: CallReport) -> None:
    """The task and lead changes the call's outcome asks for."""
    if call.status == AICallStatus.COMPLETED and lead.status == LeadStatus.NEW:
        _move_lead(lead, [LeadStatus.CONTACTED], "Reached by an AI call.")
    assignee = lead.assigned_to or call.campaign.created_by
    summary = call.summary or "See the call transcript."
    outcome = call.outcome
    if outcome in (CallOutcome.CALLBACK, CallOutcome.MEETING_BOOKED, CallOutcome.INTERESTED):
        task_type, verb, asked_for = {
            CallOutcome.CALLBACK: (TaskType.CALL, "Call back", report.callback_at),
            CallOutcome.MEETING_BOOKED: (TaskType.MEETING, "Meeting", report.meeting_at),
            CallOutcome.INTERESTED: (TaskType.FOLLOW_UP, "Follow up", None),
        }[outcome]
        due = asked_for or timezone.now() + dt.timedelta(days=1)
        task = Task.objects.create(
            title=f"{verb}: {lead.contact_name or lead.company.name}"[:200],
            description=summary,
            type=task_type,
            priority=TaskPriority.HIGH if asked_for else TaskPriority.NORMAL,
            due_at=due,
            assigned_to=assignee,
            lead=lead,
            ai_call=call,
        )
        notification_events.follow_up_asked(task=task, ai_call=call)
        if asked_for:
            lead_services.lead_update(
                lead=lead, acting_user=None, data={"next_follow_up_at": asked_for}
            )
    elif outcome == CallOutcome.NOT_INTERESTED:
        _move_lead(lead, [LeadStatus.NURTURING, LeadStatus.LOST], "Not interested (AI call).")
    elif outcome == CallOutcome.DO_NOT_CALL:
        lead_services.lead_update(lead=lead, acting_user=None, data={"do_not_contact": True})
        _move_lead(lead, [LeadStatus.LOST], "Asked not to be called again (AI call).")


# --- webhook secret ---------------------------------------------------------------------


@transaction.atomic
def webhook_secret_rotate(*, acting_user: User | None) -> str:
    """A new signing secret for the AI call webhook; returned once, stored encrypted.
    Whoever may change the campaigns of the whole organization may replace the secret
    that admits their results (for every lead of the organization)."""
    return signing_secrets.rotate(
        AICallWebhookSecret,
        acting_user=acting_user,
        resource=Resource.CAMPAIGNS,
        audit_action=AUDIT_WEBHOOK_SECRET_ROTATED,
    )


def webhook_verify(
    *, timestamp: str, signature: str, body: bytes, now: dt.datetime | None = None
) -> bool:
    """Is this delivery signed with the current organization's secret, and fresh?"""
    return signing_secrets.verify(
        AICallWebhookSecret, timestamp=timestamp, signature=signature, body=body, now=now
    )


# --- tasks ------------------------------------------------------------------------------

TASK_FIELDS = {
    "title",
    "description",
    "type",
    "priority",
    "status",
    "due_at",
    "assigned_to",
    "lead",
    "opportunity",
}


def _require_change_of_record(user: User | None, task: Task) -> None:
    """A task is work on the deal (or lead) it is put on: for whoever may change that
    record, not a colleague it is shared with for viewing (ADR 0041)."""
    if task.opportunity_id:
        access.require(user, Action.UPDATE, Resource.OPPORTUNITIES, task.opportunity)
    elif task.lead_id:
        access.require(user, Action.UPDATE, Resource.LEADS, task.lead)


def _apply_task_fields(task: Task, changes: dict, acting_user: User | None) -> None:
    _only_fields(changes, TASK_FIELDS, "This field cannot be set.")
    if "assigned_to" in changes and (
        task._state.adding or changes["assigned_to"] != task.assigned_to
    ):
        _check_assignee(acting_user, changes["assigned_to"], Resource.TASKS, "assigned_to")
    for name, value in changes.items():
        setattr(task, name, value)
    if not (task.title or "").strip():
        raise ValidationError({"title": "A task needs a title."})
    if task.opportunity_id and task.lead_id and task.opportunity.lead_id != task.lead_id:
        raise ValidationError({"lead": "The task's lead is not the opportunity's lead."})
    if task._state.adding or {"lead", "opportunity"} & set(changes):
        _require_change_of_record(acting_user, task)
    if task.opportunity_id and not task.lead_id:
        task.lead_id = task.opportunity.lead_id
    if task._state.adding or {"lead", "opportunity"} & set(changes):
        lead_services.lock_lead_to_add_to(task.lead_id)
    if task.status == TaskStatus.DONE:
        task.completed_at = task.completed_at or timezone.now()
    else:
        task.completed_at = None


@transaction.atomic
def task_create(*, acting_user: User | None, **fields) -> Task:
    access.require(acting_user, Action.CREATE, Resource.TASKS)
    task = Task(created_by=acting_user)
    fields.setdefault("assigned_to", acting_user)
    _apply_task_fields(task, fields, acting_user)
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, acting_user: User | None, **changes) -> Task:
    access.require(acting_user, Action.UPDATE, Resource.TASKS, task)
    refuse_if_row_erased(task)
    task = locked(task)
    before = values_of(task)
    _apply_task_fields(task, changes, acting_user)
    save_changed(task, before)
    return task


@transaction.atomic
def task_delete(*, task: Task, acting_user: User | None) -> None:
    """Move a task to the trash (restorable)."""
    access.require(acting_user, Action.DELETE, Resource.TASKS, task)
    task.delete()


# A task overdue for longer than this when the periodic report first sees it (the report
# was not running, or no endpoint listened then) is not reported late.
OVERDUE_REPORT_HORIZON = dt.timedelta(hours=24)


@transaction.atomic
def tasks_report_overdue(*, now: dt.datetime | None = None) -> int:
    """Emit `task.overdue` for the open tasks whose due time has passed, once per task and
    due time (a task given a new due time is reported again when that passes). The
    periodic job `crm.report_overdue_tasks` runs this in each organization."""
    now = now or timezone.now()
    overdue = Task.objects.filter(
        status__in=TASK_OPEN_STATUSES,
        due_at__lte=now,
        due_at__gt=now - OVERDUE_REPORT_HORIZON,
    ).order_by("due_at")
    reported = 0
    for task in overdue:
        key = f"task.overdue:{task.pk}:{task.due_at.isoformat()}"
        if outbox.emit(EventType.TASK_OVERDUE, {"task": payloads.task(task)}, dedupe_key=key):
            reported += 1
    return reported


@transaction.atomic
def task_complete(*, task: Task, acting_user: User | None) -> Task:
    """Done, once: the status is checked on the locked row, so of two completions at once
    the second sees the first's and is refused."""
    access.require(acting_user, Action.UPDATE, Resource.TASKS, task)
    refuse_if_row_erased(task)
    task = locked(task)
    if task.status not in TASK_OPEN_STATUSES:
        raise InvalidTransition(f"The task is already {task.status}.", allowed=[TaskStatus.OPEN])
    return task_update(task=task, acting_user=acting_user, status=TaskStatus.DONE)
