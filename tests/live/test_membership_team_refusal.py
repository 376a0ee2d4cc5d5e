"""The membership page's team rule in the browser: a member whose users:update is not the
whole organization's (a team lead's, of their team; a rep's, of their own membership)
moves no one into another team, themselves included. The page offers the teams they may
place members in (`placeable_teams`, as the invitation form) and the member's own; another
team, posted all the same (a hand-edited page), is refused on the page and nothing is
saved. An unchanged save is accepted from every role that may change the page and leaves
the membership as it was; the demo roles that only read it see no save button."""

from __future__ import annotations

import itertools

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts import services
from accounts.models import Membership, Role, Team
from smartweb.rbac import DEFAULT_ROLES, Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.live import pages

MEMBERSHIP_ADMIN = admin.site.get_model_admin(Membership)
REFUSED = "Select a valid choice. That choice is not one of the available choices."
_numbers = itertools.count(1)


def _role_with_users_update(base: str, scope: Scope) -> Role:
    """A custom role: the default role `base`, and users:update at `scope`."""
    grants = {**DEFAULT_ROLES[base][1], (Resource.USERS, Action.UPDATE): scope}
    name = f"{DEFAULT_ROLES[base][0]} who edits users ({scope}) {next(_numbers)}"
    return services.role_create(name=name, grants=grants, back_office=True)


@pytest.fixture
def people(read):
    """(a team lead of the demo team, a rep who may edit their own membership, another
    team): the lead's users:update is their team's, the rep's their own."""
    organization = pages.demo_organization()
    n = next(_numbers)
    with tenant_context(organization):
        field_sales = Team.objects.get(name="Field sales")
        lead_role = _role_with_users_update("sales_manager", Scope.TEAM)
        self_role = _role_with_users_update("sales_rep", Scope.OWN)
    team_lead = factories.make_member(
        organization, "sales_rep", team=field_sales, email=f"team.lead.{n}@example.test"
    )
    self_editor = factories.make_member(
        organization, "sales_rep", email=f"self.editor.{n}@example.test"
    )
    with tenant_context(organization):
        Membership.objects.filter(user=team_lead).update(role=lead_role)
        Membership.objects.filter(user=self_editor).update(role=self_role)
    other_team = factories.make_team(organization, f"Night shift {n}")
    return team_lead, self_editor, other_team


def _membership(email: str) -> Membership:
    with tenant_context(pages.demo_organization()):
        return Membership.objects.get(user__email=email)


def _change(membership: Membership) -> str:
    return reverse("admin:accounts_membership_change", args=[membership.pk])


def _stored(membership: Membership) -> tuple:
    with tenant_context(pages.demo_organization()):
        stored = Membership.objects.get(pk=membership.pk)
    return stored.team_id, stored.role_id, stored.is_active, stored.updated_at


def _move_refused(browser, membership: Membership, team: Team) -> None:
    before = _stored(membership)
    browser.open(_change(membership))
    assert str(team.pk) not in browser.options("team"), "a team they may not place in"
    browser.force_choice("team", str(team.pk))
    browser.save("_continue")
    assert REFUSED in browser.messages() + browser.errors(), browser.messages() + browser.errors()
    assert browser.path.split("?")[0] == _change(membership), "the page was left"
    assert _stored(membership) == before


def _offered_teams(browser, membership: Membership) -> set[str]:
    browser.open(_change(membership))
    return set(browser.options("team").values())


def test_a_team_lead_moves_neither_themselves_nor_a_member_into_another_team(browser, people):
    team_lead, _, other_team = people
    browser.login(team_lead.email, factories.PASSWORD)
    _move_refused(browser, _membership(team_lead.email), other_team)
    _move_refused(browser, _membership(pages.email_of("rep")), other_team)


def test_the_team_dropdown_offers_the_teams_the_editor_may_place_members_in(browser, people):
    team_lead, self_editor, _ = people
    browser.login(team_lead.email, factories.PASSWORD)
    assert _offered_teams(browser, _membership(pages.email_of("rep"))) == {"Field sales"}
    browser.login(self_editor.email, factories.PASSWORD)
    assert _offered_teams(browser, _membership(self_editor.email)) == set()
    browser.login(pages.email_of("admin"))
    with tenant_context(pages.demo_organization()):
        every_team = set(Team.objects.values_list("name", flat=True))
    assert _offered_teams(browser, _membership(pages.email_of("rep"))) == every_team


def test_a_rep_who_edits_their_own_membership_moves_into_no_team(browser, people):
    _, self_editor, other_team = people
    browser.login(self_editor.email, factories.PASSWORD)
    _move_refused(browser, _membership(self_editor.email), other_team)
    with tenant_context(pages.demo_organization()):
        field_sales = Team.objects.get(name="Field sales")
    _move_refused(browser, _membership(self_editor.email), field_sales)


def test_the_custom_roles_save_their_pages_unchanged(browser, people):
    team_lead, self_editor, _ = people
    for user, email in (
        (team_lead, team_lead.email),
        (team_lead, pages.email_of("rep")),
        (self_editor, self_editor.email),
    ):
        membership = _membership(email)
        browser.login(user.email, factories.PASSWORD)
        browser.open(_change(membership))
        pages.save_unchanged(browser, MEMBERSHIP_ADMIN, membership.pk)


@pytest.mark.parametrize("role", ["admin", "manager", "rep", "viewer"])
def test_each_demo_role_saves_or_reads_the_reps_membership_unchanged(browser, read, role):
    membership = _membership(pages.email_of("rep"))
    before = _stored(membership)
    browser.login(pages.email_of(role))
    browser.open(_change(membership))
    assert browser.errors() == []
    if role == "admin":
        pages.save_unchanged(browser, MEMBERSHIP_ADMIN, membership.pk)
    else:
        # Read, not changed: the default roles but the admin's hold no users:update.
        assert not browser.exists("input[name='_save'], input[name='_continue']")
    assert _stored(membership) == before
