"""Who may add a proposal to a deal (ADR 0041): whoever may change the deal (a view share is
for viewing) and whose role reaches the deal's proposals. A proposal, and its lines, are in
their deal's scope (`Proposal.scope_owner_field`), which no share widens, as a note is in
its lead's: a colleague a deal is shared with for editing was answered 201 for a proposal
they then could not read (404)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from smartweb import access
from smartweb.rbac import Action, Resource

NOT_BY_A_SHARE = (
    "It is shared with you to work on: its proposals are its owner's, out of your role's"
    " reach. Ask its owner, or whoever's role reaches it, to add one."
)


def proposal_deals(user, opportunities: QuerySet) -> QuerySet:
    """The deals among `opportunities` that `user` may add a proposal to (None: the
    system, all of them)."""
    if user is None:
        return opportunities
    deals = access.visible(user, Action.UPDATE, opportunities)
    for action in (Action.CREATE, Action.READ):
        reached = access.visible(user, action, opportunities, Resource.PROPOSALS, with_grants=False)
        deals = deals.filter(pk__in=reached.values("pk"))
    return deals


def may_add_proposal(user, opportunity) -> bool:
    deal = type(opportunity)._default_manager.filter(pk=opportunity.pk)
    return proposal_deals(user, deal).exists()


def refuse_proposal_by_a_share(user, opportunity) -> None:
    """PermissionDenied unless `may_add_proposal`; called once the user may change the
    deal, so what refuses is a share."""
    if not may_add_proposal(user, opportunity):
        raise PermissionDenied(NOT_BY_A_SHARE)
