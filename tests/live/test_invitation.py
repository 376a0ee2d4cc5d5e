"""An invitation in the browser: the invitee opens the emailed link signed out, sees the
invitation without the back office's navigation (which would tell them they may see
nothing), chooses a name and password, and lands in the organization told they joined.
Who invites is offered only the roles they may give, and sees an invitation's role only
if they may read the roles."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from accounts import services
from accounts.invitations import invitation_create
from accounts.models import Invitation, Membership, Role, User
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.live import pages

_numbers = itertools.count(1)


def _invite(email: str) -> str:
    """The path of the link the invitation email carries."""
    tokens = []
    with tenant_context(pages.demo_organization()):
        invitation_create(
            email=email,
            role=Role.objects.get(slug="sales_rep"),
            acting_user=None,
            link=lambda token: tokens.append(token) or f"http://testserver/invitations/{token}/",
        )
    return reverse("invitation-accept", args=[tokens[0]])


def test_a_new_member_joins_from_the_invitation_link(browser, read):
    path = _invite("joiner@invited.example")
    browser.open("/healthz")
    browser.driver.delete_all_cookies()
    browser.open(path)
    assert "Join Demo Web Agency" in browser.find("#content").text
    assert not browser.exists("#nav-sidebar")
    assert "permission" not in browser.find("body").text

    browser.fill("full_name", "Jo Iner")
    browser.fill("password1", "a long passphrase for Jo")
    browser.fill("password2", "a long passphrase for Jo")
    browser.click("input[type=submit]")
    assert browser.path == reverse("admin:index")
    assert browser.messages() == ["You joined Demo Web Agency."]
    user = User.objects.get(email="joiner@invited.example")
    with tenant_context(pages.demo_organization()):
        assert Membership.objects.filter(user=user, role__slug="sales_rep").exists()


@pytest.fixture
def inviters(read):
    """(a recruiter, whose role invites and reads the roles; an inviter, whose role
    invites and reads no role), each a custom role of their own."""
    n = next(_numbers)
    organization = pages.demo_organization()
    invites = {(Resource.USERS, Action.CREATE): Scope.ALL, (Resource.USERS, Action.READ): Scope.ALL}
    people = []
    for name, grants in (
        ("Recruiter", {**invites, (Resource.ROLES, Action.READ): Scope.ALL}),
        ("Inviter", invites),
    ):
        with tenant_context(organization):
            role = services.role_create(name=f"{name} {n}", grants=grants, back_office=True)
        person = factories.UserFactory(email=f"{name.lower()}.{n}@example.test")
        with tenant_context(organization):
            Membership.objects.create(organization=organization, user=person, role=role)
        people.append(person)
    return tuple(people)


def _role_of(user) -> Role:
    with tenant_context(pages.demo_organization()):
        return Membership.objects.select_related("role").get(user=user).role


def test_the_role_dropdown_offers_only_the_roles_the_inviter_may_give(browser, inviters):
    """A recruiter is offered their own role and the narrower inviter's, none of the
    default roles (the Organization Admin, a Sales Rep: each grants what they do not
    hold), which sending the invitation would refuse; the organization admin is offered
    every role."""
    recruiter, inviter = inviters
    own = _role_of(recruiter)
    with tenant_context(pages.demo_organization()):
        defaults = set(Role.objects.filter(is_system=True).values_list("name", flat=True))
    add = reverse("admin:accounts_invitation_add")
    browser.login(recruiter.email, factories.PASSWORD)
    browser.open(add)
    offered = set(browser.options("role").values())
    assert {own.name, _role_of(inviter).name} <= offered
    assert not offered & defaults, offered

    browser.fill("email", f"recruited.{own.slug}@invited.example")
    browser.choose("role", label=own.name)
    browser.save("_save")
    assert browser.errors() == []
    assert any("was added successfully" in m for m in browser.messages()), browser.messages()
    with tenant_context(pages.demo_organization()):
        sent = Invitation.objects.get(email=f"recruited.{own.slug}@invited.example")
        assert sent.role_id == own.pk
        every_role = set(Role.objects.values_list("name", flat=True))

    browser.login(pages.email_of("admin"))
    browser.open(add)
    assert set(browser.options("role").values()) == every_role


def test_an_invitations_role_is_shown_to_those_who_read_roles(browser, inviters):
    """The list's role column and filter, and the role on an invitation's page: an
    inviter whose role reads no role sees the invitations without it."""
    _, inviter = inviters
    with tenant_context(pages.demo_organization()):
        invitation = Invitation.objects.get(email="invitee@example.test")
    for login, reads_roles in (
        ((inviter.email, factories.PASSWORD), False),
        ((pages.email_of("admin"),), True),
    ):
        browser.login(*login)
        browser.open(reverse("admin:accounts_invitation_changelist"))
        listed = browser.find("#changelist").text
        assert "invitee@example.test" in listed
        assert ("Sales Rep" in listed) == reads_roles
        assert browser.exists("#result_list th.column-role") == reads_roles
        filters = browser.find_all("#changelist-filter a[href*='role__id__exact']")
        assert bool(filters) == reads_roles

        browser.open(reverse("admin:accounts_invitation_change", args=[invitation.pk]))
        assert browser.exists(".field-email")
        assert browser.exists(".field-role") == reads_roles
