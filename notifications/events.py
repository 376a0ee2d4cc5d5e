"""The events that matter to a person, reported by the services where they happen, in
their transaction. Each names who is told and the key that makes it once-only."""

from __future__ import annotations

from accounts.selectors import active_admins
from notifications import mentions
from notifications.choices import NotificationKind
from notifications.services import notify
from smartweb import access
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import current_organization_id, tenant_context


def _name(actor) -> str:
    return actor.get_full_name() if getattr(actor, "is_authenticated", False) else ""


def lead_assigned(*, lead, acting_user) -> None:
    """The lead's (new) assignee is told, unless they assigned it to themselves. The key
    carries the change's time: a lead assigned to them again later is news again."""
    assignee = lead.assigned_to
    if assignee is None:
        return
    who = _name(acting_user)
    company = lead.company.name
    notify(
        recipient=assignee,
        actor=acting_user,
        kind=NotificationKind.LEAD_ASSIGNED,
        target=lead,
        message=f"{who} assigned you a lead: {company}"
        if who
        else f"A lead was assigned to you: {company}",
        dedupe_key=f"lead_assigned:{lead.pk}:{assignee.pk}:{lead.updated_at.isoformat()}",
    )


def follow_up_asked(*, task, ai_call) -> None:
    """An AI call's outcome asked for a follow-up task: its assignee is told, once per call."""
    notify(
        recipient=task.assigned_to,
        kind=NotificationKind.AI_CALL_FOLLOW_UP,
        target=task,
        message=f"An AI call asks for a follow-up: {task.title}",
        dedupe_key=f"ai_call_follow_up:{ai_call.pk}",
    )


def proposal_accepted(*, proposal, opportunity, acting_user) -> None:
    """The deal's owner is told that its proposal was accepted (once per proposal)."""
    notify(
        recipient=opportunity.owner,
        actor=acting_user,
        kind=NotificationKind.PROPOSAL_ACCEPTED,
        target=proposal,
        message=f"Proposal {proposal.number} ({proposal.title}) was accepted",
        dedupe_key=f"proposal_accepted:{proposal.pk}",
    )


def proposal_expired(*, proposal) -> None:
    """The deal's owner is told that its proposal expired unanswered (once per proposal)."""
    notify(
        recipient=proposal.opportunity.owner,
        kind=NotificationKind.PROPOSAL_EXPIRED,
        target=proposal,
        message=f"Proposal {proposal.number} ({proposal.title}) expired on"
        f" {proposal.valid_until:%Y-%m-%d} without an answer",
        dedupe_key=f"proposal_expired:{proposal.pk}",
    )


def _may_read(membership, interaction) -> bool:
    """Could the mentioned member open this note? Asked as them, in their own membership
    (the permission service answers for the current membership only)."""
    with tenant_context(current_organization_id(), user=membership.user, membership=membership):
        return access.can(membership.user, Action.READ, Resource.INTERACTIONS, interaction)


def mentioned(*, interaction, acting_user) -> int:
    """Members mentioned in a note's text are told, once per note and person (an edit
    tells only those it adds). A member who may not read the note is not told: a mention
    does not open a lead to them. How many were told."""
    told = 0
    for membership in mentions.mentioned_members(interaction.content):
        if not _may_read(membership, interaction):
            continue
        who = _name(acting_user) or "Someone"
        if notify(
            recipient=membership.user,
            actor=acting_user,
            kind=NotificationKind.MENTION,
            target=interaction,
            message=f"{who} mentioned you in a note on {interaction.lead.company.name}",
            dedupe_key=f"mention:{interaction.pk}:{membership.user_id}",
        ):
            told += 1
    return told


def endpoint_disabled(*, endpoint, reason: str) -> int:
    """The organization's active admins are told that a webhook endpoint was disabled and
    why (`reason`: "failed 20 times in a row"; once per disabling); how many."""
    told = 0
    for membership in active_admins():
        told += (
            notify(
                recipient=membership.user,
                kind=NotificationKind.WEBHOOK_DISABLED,
                target=endpoint,
                message=f"Webhook endpoint {endpoint.url} {reason} and was disabled",
                # Once per admin and disabling: the key is the organization's, not theirs.
                dedupe_key=(
                    f"webhook_disabled:{endpoint.pk}:{endpoint.disabled_at.isoformat()}"
                    f":{membership.user_id}"
                ),
            )
            is not None
        )
    return told
