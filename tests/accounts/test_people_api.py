"""Organizations, members (users), memberships and teams through the API."""

import pytest
from django.core import mail
from django.test import TestCase

from accounts.audit import AuditAction
from accounts.models import Membership, Organization, Role, Team, User
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import audit_actions, audit_rows

pytestmark = pytest.mark.django_db


def role(organization, slug):
    with tenant_context(organization):
        return Role.objects.get(slug=slug)


def membership_of(user, organization):
    with tenant_context(organization):
        return Membership.all_objects.select_related("role", "team", "invited_by").get(user=user)


# Organizations


def test_organizations_list_shows_own_organizations(admin_a, org_a, org_b):
    response = factories.api_client(admin_a, org_a).get("/api/v1/organizations/")

    assert response.status_code == 200
    assert [o["slug"] for o in response.json()["results"]] == ["acme"]


def test_organization_of_another_is_404(admin_a, org_a, org_b):
    client = factories.api_client(admin_a, org_a)
    assert client.get(f"/api/v1/organizations/{org_b.pk}/").status_code == 404
    assert client.patch(f"/api/v1/organizations/{org_b.pk}/", {"name": "Mine"}).status_code == 404
    org_b.refresh_from_db()
    assert org_b.name == "Bravo Leads"


def test_org_admin_renames_the_organization(admin_a, org_a):
    client = factories.api_client(admin_a, org_a)

    response = client.patch(f"/api/v1/organizations/{org_a.pk}/", {"name": "Acme Websites"})

    assert response.status_code == 200 and response.json()["name"] == "Acme Websites"
    (row,) = audit_rows(org_a, action=AuditAction.ORGANIZATION_CHANGED)
    assert row.details == {"changes": {"name": ["Acme Web Sales", "Acme Websites"]}}


def test_an_organization_name_is_kept_on_one_line_for_its_emails(admin_a, org_a):
    client = factories.api_client(admin_a, org_a)

    renamed = client.patch(
        f"/api/v1/organizations/{org_a.pk}/", {"name": "Acme\r\nBcc: someone@example.com"}
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        invited = client.post(
            "/api/v1/users/",
            {"email": "new@example.com", "role": str(role(org_a, "sales_rep").pk)},
            format="json",
        )

    assert renamed.json()["name"] == "Acme Bcc: someone@example.com"
    assert invited.status_code == 202, invited.content
    assert (
        mail.outbox[-1].subject
        == "You are invited to Acme Bcc: someone@example.com on SmartWeb CRM"
    )


def test_plan_and_deactivation_are_for_platform_admins(admin_a, org_a):
    client = factories.api_client(admin_a, org_a)
    unchanged = {"name": "Acme", "plan": "free", "is_active": True, "settings": {}}
    assert client.put(
        f"/api/v1/organizations/{org_a.pk}/", unchanged, format="json"
    ).status_code == (200)
    assert client.patch(
        f"/api/v1/organizations/{org_a.pk}/", {"plan": "enterprise"}
    ).status_code == (403)
    assert client.patch(f"/api/v1/organizations/{org_a.pk}/", {"is_active": False}).status_code == (
        403
    )


@pytest.mark.parametrize("person", ["rep_a", "readonly_a", "manager_a"])
def test_organization_update_needs_the_permission(person, org_a, request):
    client = factories.api_client(request.getfixturevalue(person), org_a)
    assert client.get(f"/api/v1/organizations/{org_a.pk}/").status_code == 200
    assert client.patch(f"/api/v1/organizations/{org_a.pk}/", {"name": "X"}).status_code == 403


def test_only_platform_admins_create_organizations(admin_a, org_a):
    payload = {
        "name": "Charlie",
        "admin_email": "boss@charlie.test",
        "admin_password": "x7-Long-pw!",
    }
    assert factories.api_client(admin_a, org_a).post(
        "/api/v1/organizations/", payload
    ).status_code == (403)

    root = factories.UserFactory(is_superuser=True)
    response = factories.session_client(root).post("/api/v1/organizations/", payload)

    assert response.status_code == 201 and response.json()["slug"] == "charlie"
    charlie = Organization.objects.get(slug="charlie")
    with tenant_context(charlie):
        assert Membership.objects.get().user.email == "boss@charlie.test"
    assert factories.session_client(root).post("/api/v1/organizations/", payload).status_code == 400


# Members (users)


def test_members_list(admin_a, rep_a, readonly_a, org_a, admin_b):
    response = factories.api_client(readonly_a, org_a).get("/api/v1/users/")

    assert response.status_code == 200
    emails = {u["email"] for u in response.json()["results"]}
    assert emails == {admin_a.email, rep_a.email, readonly_a.email}
    member = next(u for u in response.json()["results"] if u["email"] == rep_a.email)
    assert member["id"] == str(rep_a.pk) and member["role"]["slug"] == "sales_rep"
    assert member["team"]["name"] == "North"


def test_a_members_role_is_answered_to_those_who_read_roles(
    org_a, admin_a, manager_a, rep_a, rep_a2, readonly_a
):
    """A sales rep reads the members and their teams, not the roles: `role` (and a
    membership's `role_name`) is null to them, in lists and a member's own answer."""
    membership = membership_of(rep_a2, org_a)

    def roles(user) -> list:
        client = factories.api_client(user, org_a)
        members = [
            client.get("/api/v1/users/").json()["results"],
            [client.get(f"/api/v1/users/{rep_a2.pk}/").json()],
            client.get("/api/v1/memberships/").json()["results"],
            [client.get(f"/api/v1/memberships/{membership.pk}/").json()],
        ]
        return [
            (member["role"], member.get("role_name")) for answer in members for member in answer
        ]

    for reader in (rep_a, rep_a2):
        assert roles(reader) == [(None, None)] * (2 * 5 + 2)
    for reader in (manager_a, readonly_a, admin_a):
        answered = roles(reader)
        assert all(role is not None for role, _ in answered)
        assert {"Sales Rep", "Sales Manager", "Read Only", "Organization Admin"} <= {
            role["name"] if isinstance(role, dict) else name for role, name in answered
        }
    # A change's answer names the role to whoever made it.
    changed = factories.api_client(admin_a, org_a).patch(
        f"/api/v1/users/{rep_a2.pk}/", {"is_active": True}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["role"]["slug"] == "sales_rep"


def test_member_of_another_organization_is_404(admin_a, org_a, admin_b):
    client = factories.api_client(admin_a, org_a)
    assert client.get(f"/api/v1/users/{admin_b.pk}/").status_code == 404
    assert client.patch(f"/api/v1/users/{admin_b.pk}/", {"full_name": "Hacked"}).status_code == 404
    assert client.post(f"/api/v1/users/{admin_b.pk}/deactivate/").status_code == 404
    admin_b.refresh_from_db()
    assert admin_b.full_name != "Hacked"


def test_invite_with_another_organizations_role_or_team_is_400(admin_a, org_a, org_b):
    client = factories.api_client(admin_a, org_a)
    b_team = factories.make_team(org_b, "Bravo team")
    own_role = str(role(org_a, "sales_rep").pk)

    foreign_role = client.post(
        "/api/v1/users/", {"email": "x@example.test", "role": str(role(org_b, "sales_rep").pk)}
    )
    foreign_team = client.post(
        "/api/v1/users/", {"email": "x@example.test", "role": own_role, "team": str(b_team.pk)}
    )

    assert foreign_role.status_code == 400 and "role" in foreign_role.json()["error"]["details"]
    assert foreign_team.status_code == 400 and "team" in foreign_team.json()["error"]["details"]
    assert not User.objects.filter(email="x@example.test").exists()


@pytest.mark.parametrize("person", ["rep_a", "readonly_a", "manager_a"])
def test_invite_and_deactivate_need_the_permission(person, rep_a2, org_a, request):
    client = factories.api_client(request.getfixturevalue(person), org_a)
    payload = {"email": "x@example.test", "role": str(role(org_a, "sales_rep").pk)}

    assert client.post("/api/v1/users/", payload).status_code == 403
    assert client.post(f"/api/v1/users/{rep_a2.pk}/deactivate/").status_code == 403
    assert client.patch(f"/api/v1/users/{rep_a2.pk}/", {"full_name": "Renamed"}).status_code == 403
    assert membership_of(rep_a2, org_a).is_active


def test_deactivate_and_reactivate_a_member(admin_a, rep_a, org_a):
    admin = factories.api_client(admin_a, org_a)
    rep = factories.api_client(rep_a, org_a)

    response = admin.post(f"/api/v1/users/{rep_a.pk}/deactivate/")

    assert response.status_code == 200 and response.json()["is_active"] is False
    assert rep.get("/api/v1/me/").status_code == 403
    assert admin.post(f"/api/v1/users/{rep_a.pk}/activate/").status_code == 200
    assert rep.get("/api/v1/me/").status_code == 200
    (deactivated, activated) = audit_rows(org_a, action=AuditAction.MEMBERSHIP_CHANGED)
    assert deactivated.details["changes"] == {"is_active": [True, False]}
    assert activated.details["changes"] == {"is_active": [False, True]}


def test_the_last_admin_cannot_be_deactivated(admin_a, org_a):
    client = factories.api_client(admin_a, org_a)

    response = client.post(f"/api/v1/users/{admin_a.pk}/deactivate/")

    assert response.status_code == 400
    assert "at least one active Organization Admin" in response.json()["error"]["message"] + str(
        response.json()["error"]["details"]
    )
    assert membership_of(admin_a, org_a).is_active


def test_an_organization_changes_the_membership_never_the_profile(admin_a, rep_a, org_a, team_a):
    client = factories.api_client(admin_a, org_a)
    old_name = rep_a.full_name

    profile = client.patch(
        f"/api/v1/users/{rep_a.pk}/", {"full_name": "Renamed", "is_staff": False}, format="json"
    )
    membership = client.patch(
        f"/api/v1/users/{rep_a.pk}/", {"team": None, "is_active": False}, format="json"
    )

    assert profile.status_code == 400
    assert set(profile.json()["error"]["details"]) == {"full_name", "is_staff"}
    rep_a.refresh_from_db()
    assert rep_a.full_name == old_name and rep_a.is_staff
    assert membership.status_code == 200, membership.content
    assert membership.json()["team"] is None and membership.json()["is_active"] is False
    assert AuditAction.USER_CHANGED not in audit_actions(org_a)


# Memberships


def test_change_role_and_team_of_a_membership(admin_a, rep_a2, org_a, team_a):
    client = factories.api_client(admin_a, org_a)
    membership = membership_of(rep_a2, org_a)
    manager_role = role(org_a, "sales_manager")

    response = client.patch(
        f"/api/v1/memberships/{membership.pk}/",
        {"role": str(manager_role.pk), "team": str(team_a.pk)},
    )

    assert response.status_code == 200
    assert response.json()["role_name"] == "Sales Manager"
    membership = membership_of(rep_a2, org_a)
    assert membership.role == manager_role and membership.team == team_a
    (row,) = audit_rows(org_a, action=AuditAction.MEMBERSHIP_CHANGED)
    assert row.actor == admin_a and set(row.details["changes"]) == {"role", "team"}


def test_membership_with_another_organizations_role_is_400(admin_a, rep_a, org_a, org_b):
    client = factories.api_client(admin_a, org_a)
    membership = membership_of(rep_a, org_a)

    response = client.patch(
        f"/api/v1/memberships/{membership.pk}/", {"role": str(role(org_b, "org_admin").pk)}
    )

    assert response.status_code == 400
    assert membership_of(rep_a, org_a).role.slug == "sales_rep"


def test_memberships_cannot_be_created_directly(admin_a, org_a, admin_b):
    client = factories.api_client(admin_a, org_a)
    payload = {"user": str(admin_b.pk), "role": str(role(org_a, "org_admin").pk)}
    assert client.post("/api/v1/memberships/", payload).status_code == 405


def test_remove_a_member(admin_a, rep_a, org_a):
    client = factories.api_client(admin_a, org_a)
    membership = membership_of(rep_a, org_a)

    assert client.delete(f"/api/v1/memberships/{membership.pk}/").status_code == 204

    assert membership_of(rep_a, org_a).is_deleted
    assert client.get(f"/api/v1/users/{rep_a.pk}/").status_code == 404
    assert AuditAction.MEMBERSHIP_DELETED in audit_actions(org_a)
    assert factories.session_client(rep_a).get("/api/v1/me/").json()["organization"] is None


def test_membership_changes_need_the_permission(manager_a, rep_a, org_a):
    client = factories.api_client(manager_a, org_a)
    membership = membership_of(rep_a, org_a)
    url = f"/api/v1/memberships/{membership.pk}/"

    assert client.get(url).status_code == 200
    assert client.patch(url, {"is_active": False}).status_code == 403
    assert client.delete(url).status_code == 403


# Teams


def test_team_crud(admin_a, manager_a, org_a):
    client = factories.api_client(admin_a, org_a)

    created = client.post("/api/v1/teams/", {"name": "South", "manager": str(manager_a.pk)})
    assert created.status_code == 201
    team_id = created.json()["id"]
    assert client.post("/api/v1/teams/", {"name": "South"}).status_code == 400  # duplicate
    renamed = client.patch(f"/api/v1/teams/{team_id}/", {"name": "South-West"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "South-West"
    assert client.delete(f"/api/v1/teams/{team_id}/").status_code == 204
    assert client.get(f"/api/v1/teams/{team_id}/").status_code == 404
    assert audit_actions(org_a, target_id=team_id) == [
        AuditAction.TEAM_CREATED,
        AuditAction.TEAM_CHANGED,
        AuditAction.TEAM_DELETED,
    ]


def test_deleting_a_team_leaves_its_members_without_one(admin_a, rep_a, org_a, team_a):
    factories.api_client(admin_a, org_a).delete(f"/api/v1/teams/{team_a.pk}/")
    assert membership_of(rep_a, org_a).team is None


def test_team_manager_must_be_a_member(admin_a, org_a, admin_b):
    client = factories.api_client(admin_a, org_a)

    response = client.post("/api/v1/teams/", {"name": "South", "manager": str(admin_b.pk)})

    assert response.status_code == 400 and "manager" in response.json()["error"]["details"]
    with tenant_context(org_a):
        assert not Team.objects.filter(name="South").exists()


def test_a_sales_manager_renames_their_own_team_only(org_a, team_a, manager_a):
    """Their role changes teams at team scope: the team they are in, not another one,
    which they read (403), and they neither create nor delete teams."""
    other = factories.make_team(org_a, "South")
    client = factories.api_client(manager_a, org_a)
    renamed = client.patch(f"/api/v1/teams/{team_a.pk}/", {"name": "North-East"})
    assert renamed.status_code == 200, renamed.json()
    assert renamed.json()["name"] == "North-East"
    assert client.patch(f"/api/v1/teams/{other.pk}/", {"name": "X"}).status_code == 403
    assert client.post("/api/v1/teams/", {"name": "West"}).status_code == 403
    assert client.delete(f"/api/v1/teams/{team_a.pk}/").status_code == 403
    with tenant_context(org_a):
        names = set(Team.objects.values_list("name", flat=True))
    assert names == {"North-East", "South"}
    assert audit_actions(org_a, target_id=str(team_a.pk)) == [AuditAction.TEAM_CHANGED]


@pytest.mark.parametrize("person", ["rep_a", "readonly_a"])
def test_team_writes_need_the_permission(person, org_a, team_a, request):
    client = factories.api_client(request.getfixturevalue(person), org_a)
    assert client.get(f"/api/v1/teams/{team_a.pk}/").status_code == 200
    assert client.post("/api/v1/teams/", {"name": "South"}).status_code == 403
    assert client.patch(f"/api/v1/teams/{team_a.pk}/", {"name": "X"}).status_code == 403
    assert client.delete(f"/api/v1/teams/{team_a.pk}/").status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/memberships/", "/api/v1/teams/"])
def test_filter_forms_offer_members_of_the_organization_only(rep_a, admin_a, admin_b, path):
    """The browsable API's filter forms build their user choices from the user table:
    they list this organization's members, never the accounts of another."""
    client = factories.api_client(rep_a)
    page = client.get(path, HTTP_ACCEPT="text/html").content.decode()
    assert admin_a.email in page
    assert admin_b.email not in page


# A member's team


def _custom_member(organization, grants, team=None):
    """A member of a custom role: users read all and update their own, leads and
    companies read at team scope, teams read all (and `grants` on top)."""
    from accounts import services

    base = {
        ("users", "read"): "all",
        ("users", "update"): "own",
        ("leads", "read"): "team",
        ("companies", "read"): "team",
        ("teams", "read"): "all",
    }
    with tenant_context(organization):
        custom = services.role_create(name=f"Custom {len(grants)}", grants={**base, **grants})
    user = factories.UserFactory()
    with tenant_context(organization):
        Membership.objects.create(organization=organization, user=user, role=custom, team=team)
    return user


@pytest.mark.parametrize("where", ["memberships", "users"])
def test_a_member_cannot_move_themselves_into_another_team(org_a, team_a, rep_a, where):
    """Their team is what their team scope reads: moving into another team widened it."""
    from leads.models import Lead
    from tests.leads.factories import make_lead

    make_lead(org_a, assigned_to=rep_a, contact_name="In team A")
    own_team = factories.make_team(org_a, "Own team")
    member = _custom_member(org_a, {}, team=own_team)
    client = factories.api_client(member, org_a)
    membership = membership_of(member, org_a)
    url = (
        f"/api/v1/memberships/{membership.pk}/"
        if where == "memberships"
        else f"/api/v1/users/{member.pk}/"
    )

    response = client.patch(url, {"team": str(team_a.pk)}, format="json")

    assert response.status_code == 403, response.content
    assert membership_of(member, org_a).team == own_team
    assert client.get("/api/v1/leads/").json()["results"] == []
    # Leaving one's team narrows what one sees: that stays one's own to do.
    assert client.patch(url, {"team": None}, format="json").status_code == 200
    with tenant_context(org_a):
        assert Lead.objects.count() == 1


def test_who_moves_members_between_teams(org_a, team_a, rep_a, rep_a2, manager_a, admin_a):
    """users:update of the team moves another member into one's own team only; of the
    whole organization, anyone anywhere. Another organization's admin finds no one."""
    other_team = factories.make_team(org_a, "Other")
    leaders = factories.make_team(org_a, "Leaders")
    team_updater = _custom_member(org_a, {("users", "update"): "team"}, team=leaders)
    with tenant_context(org_a):
        Membership.objects.filter(user=rep_a2).update(team=leaders)
    client = factories.api_client(team_updater, org_a)
    url = f"/api/v1/memberships/{membership_of(rep_a2, org_a).pk}/"
    assert client.patch(url, {"team": str(other_team.pk)}).status_code == 403
    own = f"/api/v1/memberships/{membership_of(team_updater, org_a).pk}/"
    assert client.patch(own, {"team": str(other_team.pk)}).status_code == 403
    assert membership_of(rep_a2, org_a).team == leaders
    assert membership_of(team_updater, org_a).team == leaders
    admin = factories.api_client(admin_a, org_a)
    assert admin.patch(url, {"team": str(other_team.pk)}).status_code == 200
    assert membership_of(rep_a2, org_a).team == other_team


def test_another_organizations_admin_cannot_move_a_member(org_a, org_b, rep_a, admin_b):
    team_b = factories.make_team(org_b, "Bravo team")
    client = factories.api_client(admin_b, org_b)
    url = f"/api/v1/memberships/{membership_of(rep_a, org_a).pk}/"
    assert client.patch(url, {"team": str(team_b.pk)}).status_code == 404
    assert membership_of(rep_a, org_a).team is not None


def test_the_membership_page_refuses_moving_oneself(client, org_a, team_a):
    own_team = factories.make_team(org_a, "Own team")
    member = _custom_member(org_a, {}, team=own_team)
    membership = membership_of(member, org_a)
    client.force_login(member)
    url = f"/admin/accounts/membership/{membership.pk}/change/"
    form = {"role": str(membership.role_id), "team": str(team_a.pk), "is_active": "on"}
    refused = client.post(url, form)
    # Not offered (`placeable_teams`), posted all the same: a form error on the page as
    # posted, the chosen team still selected.
    assert refused.status_code == 200
    assert "Select a valid choice." in refused.content.decode()
    assert refused.context["adminform"].form["team"].value() == str(team_a.pk)
    assert membership_of(member, org_a).team == own_team
