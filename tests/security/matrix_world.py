"""The organization the permission matrix is checked in: one member of each default role
and of a custom role (all in one team), a teammate and an outsider (in a team of their
own), and for each of them one chain of owned rows (company, lead, interaction,
enrichment, consent, deal, proposal with its line, contract, AI call, task, their
membership, API token and a saved view shared with their team), and the team they are in
(the teammate's is the user's own).

Each row is known by whose it is: the acting user's ("own"), their teammate's ("team")
or the outsider's ("all"); rows no one owns (pipelines, campaigns, roles, a team no one
is in…) need "all".
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from accounts import invitations
from accounts import services as account_services
from accounts.models import Invitation, Membership, Organization, Role, Team, User
from compliance import services as compliance_services
from compliance.choices import ConsentPurpose, ConsentSource, RequestKind
from crm import pricing
from crm import services as crm_services
from crm.choices import AICallStatus
from crm.models import AICall, Campaign
from leads import services as lead_services
from leads.choices import LeadStatus
from leads.models import Lead, LeadTag, Tag
from mailing.models import EmailMessage
from savedviews import services as saved_view_services
from smartweb.rbac import DEFAULT_ROLES, Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests import factories

CUSTOM = "custom"
ROLES = (*DEFAULT_ROLES, CUSTOM)

# The custom role: every scope (and none) over the resources and actions, in rotation, so
# each resource has actions at different scopes and each scope meets every action.
_ROTATION = (None, Scope.OWN, Scope.TEAM, Scope.ALL)
CUSTOM_GRANTS: dict[tuple[str, str], str] = {
    (resource, action): scope
    for (i, resource), (j, action) in itertools.product(enumerate(Resource), enumerate(Action))
    if (scope := _ROTATION[(i + j) % len(_ROTATION)]) is not None
}


def declared(role: str) -> dict[tuple[str, str], str]:
    """(resource, action) -> scope, as smartweb.rbac declares the role."""
    return CUSTOM_GRANTS if role == CUSTOM else DEFAULT_ROLES[role][1]


def allows(role: str, resource: str, action: str, needed: str | None = None) -> bool:
    """Does the declaration give `action` on `resource` (on a row needing `needed`)?"""
    scope = declared(role).get((resource, action))
    if scope is None:
        return False
    return needed is None or SCOPE_ORDER.index(scope) >= SCOPE_ORDER.index(needed)


SCOPE_ORDER = (Scope.OWN, Scope.TEAM, Scope.ALL)
# Whose chain a row is of, seen from the acting user, and the scope it needs.
OWNERS = {"own": Scope.OWN, "team": Scope.TEAM, "all": Scope.ALL}


@dataclass
class World:
    organization: Organization
    people: dict[str, User] = field(default_factory=dict)  # role -> user
    teammate: User | None = None
    outsider: User | None = None
    chains: dict[str, dict[type, object]] = field(default_factory=dict)  # user pk -> rows
    unowned: dict[type, object] = field(default_factory=dict)

    def rows_for(self, user: User):
        """(model, row, needed scope) of every row the matrix checks for `user`; None
        for a row no one owns."""
        for key, owner in (("own", user), ("team", self.teammate), ("all", self.outsider)):
            for model, row in self.chains[str(owner.pk)].items():
                yield model, row, OWNERS[key]
        for model, row in self.unowned.items():
            yield model, row, None


_numbers = itertools.count(1)


def _line() -> pricing.LineInput:
    return pricing.LineInput(
        description="Website",
        quantity=Decimal("1"),
        unit_price=Decimal("1000.00"),
        discount_percent=Decimal("0"),
        tax_rate=Decimal("0"),
    )


def _chain(user: User, campaign: Campaign, tag: Tag) -> dict[type, object]:
    """Rows owned by `user`, made by the services as the system."""
    n = next(_numbers)
    lead = lead_services.lead_create(
        acting_user=None,
        data={"assigned_to": user, "contact_phone": f"01632 95{n:04d}"},
        company_data={"name": f"Matrix Roofing {n}", "business_type": "roofer"},
        tags=[tag],
    )
    interaction = lead_services.interaction_log(lead=lead, acting_user=None, data={"type": "note"})
    enrichment = lead_services.enrichment_record(
        lead=lead, acting_user=None, provider="test", data={}, apply=False
    )
    consent = compliance_services.consent_record(
        lead=lead,
        purpose=ConsentPurpose.CONTACT,
        granted=True,
        source=ConsentSource.PHONE,
        acting_user=None,
    )
    lead = lead_services.lead_change_status(
        lead=lead, status=LeadStatus.QUALIFIED, acting_user=None, reason="matrix"
    )
    deal = crm_services.lead_convert(lead=lead, acting_user=None, owner=user)
    proposal = crm_services.proposal_create(
        opportunity=deal, acting_user=None, lines=[_line()], valid_until=dt.date(2099, 1, 1)
    )
    contract_proposal = crm_services.proposal_create(
        opportunity=deal, acting_user=None, lines=[_line()], valid_until=dt.date(2099, 1, 1)
    )
    crm_services.proposal_send(proposal=contract_proposal, acting_user=None)
    contract = crm_services.proposal_accept(proposal=contract_proposal, acting_user=None)
    call = AICall.objects.create(
        campaign=campaign, lead=lead, provider="http", status=AICallStatus.QUEUED
    )
    task = crm_services.task_create(acting_user=None, title="Call back", assigned_to=user)
    # Owned through its lead, like the interactions (written by mailing's services).
    message = EmailMessage.objects.create(
        lead=lead,
        direction="outbound",
        kind="lead",
        status="sent",
        message_id=f"<matrix-{n}@matrix.test>",
        from_email="crm@matrix.test",
        to_email=f"lead{n}@matrix.test",
        subject="A website",
    )
    token, _ = account_services.token_create(
        user=user, organization_id=lead.organization_id, name="matrix"
    )
    invitation = invitations.invitation_create(
        email=f"invitee{n}@matrix.test",
        role=Role.objects.get(slug="read_only"),
        acting_user=None,
        link=str,
    )
    Invitation.objects.filter(pk=invitation.pk).update(invited_by=user)
    # Shared: a private view is its owner's alone whatever the scope (tests/savedviews).
    view = saved_view_services.saved_view_create(
        acting_user=None,
        owner=user,
        resource="leads",
        name="Hot leads",
        query={"status": ["new"]},
        shared=True,
    )
    rows = [
        lead.company,
        lead,
        LeadTag.objects.get(lead=lead),
        interaction,
        enrichment,
        consent,
        deal,
        proposal,
        proposal.line_items.get(),
        contract,
        call,
        task,
        message,
        Membership.objects.get(user=user),
        token,
        Invitation.objects.get(pk=invitation.pk),
        view,
    ]
    return {type(row): row for row in rows}


def build_world() -> World:
    organization = factories.make_organization("Matrix")
    world = World(organization)
    team = factories.make_team(organization, "Matrix team")
    with tenant_context(organization):
        account_services.role_create(name="Custom", slug=CUSTOM, grants=CUSTOM_GRANTS)
    for role in ROLES:
        world.people[role] = factories.make_member(organization, role, team=team)
    world.teammate = factories.make_member(organization, "sales_rep", team=team)
    # The outsider is in a team of their own (a team's row is its members'), and a team
    # no one is in is the row no one owns.
    outside = factories.make_team(organization, "Outsider team")
    world.outsider = factories.make_member(organization, "sales_rep", team=outside)
    empty = factories.make_team(organization, "Empty team")
    with tenant_context(organization):
        campaign = crm_services.campaign_save(
            acting_user=None, name="Matrix campaign", script="Offer a website."
        )
        tag = lead_services.tag_create(acting_user=None, data={"name": "matrix"})
        owners = [*world.people.values(), world.teammate, world.outsider]
        world.chains = {str(user.pk): _chain(user, campaign, tag) for user in owners}
        # A team is its members': the teammate's is the user's own team, checked as that.
        for user in owners:
            if user != world.teammate:
                world.chains[str(user.pk)][Team] = Membership.objects.get(user=user).team
        some_lead = world.chains[str(world.outsider.pk)][Lead]
        request = compliance_services.subject_request_open(
            kind=RequestKind.EXPORT, lead=some_lead, acting_user=None
        )
        pipeline = crm_services.default_pipeline()
        world.unowned = {
            type(row): row
            for row in (
                campaign,
                tag,
                request,
                pipeline,
                pipeline.stages.first(),
                empty,
                world.people[CUSTOM].memberships.get().role,
            )
        }
    return world
