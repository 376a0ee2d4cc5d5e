"""The accounts back office: an organization admin works within their organization only,
people without the permission are refused, writes are audited."""

import re
import uuid

import pytest

from accounts import services
from accounts.audit import AuditAction
from accounts.models import APIToken, AuditLog, Membership, Organization, Role, Team, User
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client, audit_actions, audit_rows
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db

ADMIN = "/admin/accounts"


@pytest.fixture
def rows_a(org_a, admin_a, rep_a, team_a):
    """One row of A per admin page."""
    factories.api_client(rep_a, org_a)
    with tenant_context(org_a):
        return {
            "team": team_a,
            "role": Role.objects.get(slug="sales_rep"),
            "membership": Membership.objects.get(user=rep_a),
            "apitoken": APIToken.objects.get(user=rep_a),
            "auditlog": AuditLog.objects.first(),
            "user": rep_a,
            "organization": org_a,
        }


def changelist_pks(client, model: str) -> set[str]:
    response = client.get(f"{ADMIN}/{model}/")
    assert response.status_code == 200
    return {str(obj.pk) for obj in response.context["cl"].result_list}


@pytest.mark.parametrize(
    "model", ["team", "role", "membership", "apitoken", "auditlog", "user", "organization"]
)
def test_org_admin_sees_own_rows(model, rows_a, admin_a):
    assert str(rows_a[model].pk) in changelist_pks(admin_client(admin_a), model)
    change = admin_client(admin_a).get(f"{ADMIN}/{model}/{rows_a[model].pk}/change/")
    assert change.status_code == 200


@pytest.mark.parametrize(
    "model", ["team", "role", "membership", "apitoken", "auditlog", "user", "organization"]
)
def test_another_organizations_admin_sees_none_of_them(model, rows_a, admin_b):
    client = admin_client(admin_b)

    assert str(rows_a[model].pk) not in changelist_pks(client, model)
    for page in ("change", "history", "delete"):
        response = client.get(f"{ADMIN}/{model}/{rows_a[model].pk}/{page}/")
        # Exactly the answer for an id that exists nowhere: a 404, or a 403 where the
        # page is refused for every row; never Django's redirect with "doesn't exist".
        unknown = client.get(f"{ADMIN}/{model}/{uuid.uuid4()}/{page}/")
        assert response.status_code == unknown.status_code, page
        assert response.status_code in (403, 404), page


def test_another_organizations_admin_cannot_edit_a_user_or_role(rows_a, admin_b, org_a, rep_a):
    client = admin_client(admin_b)
    with tenant_context(org_a):
        custom = services.role_create(name="Custom", grants={})

    user_post = client.post(
        f"{ADMIN}/user/{rep_a.pk}/change/", {"full_name": "Taken over", "is_staff": "on"}
    )
    role_post = client.post(
        f"{ADMIN}/role/{custom.pk}/change/",
        {"name": "Taken over", "slug": "taken", "permissions-TOTAL_FORMS": "0"},
    )

    assert user_post.status_code == role_post.status_code == 404
    rep_a.refresh_from_db()
    assert rep_a.full_name != "Taken over"
    with tenant_context(org_a):
        assert Role.objects.get(pk=custom.pk).name == "Custom"


@pytest.mark.parametrize("person", ["rep_a", "readonly_a"])
def test_people_without_the_permission_are_refused(person, rows_a, request):
    client = admin_client(request.getfixturevalue(person))
    team, role, membership, user = (rows_a[k] for k in ("team", "role", "membership", "user"))

    assert client.get(f"{ADMIN}/team/").status_code == 200  # they may read teams
    assert client.post(f"{ADMIN}/team/{team.pk}/change/", {"name": "X"}).status_code == 403
    assert client.get(f"{ADMIN}/team/add/").status_code == 403
    assert client.post(f"{ADMIN}/team/{team.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{ADMIN}/role/add/").status_code == 403
    assert client.post(f"{ADMIN}/membership/{membership.pk}/change/", {}).status_code == 403
    assert client.get(f"{ADMIN}/user/add/").status_code == 403
    admin = factories.org_admin(rows_a["organization"])
    assert client.post(f"{ADMIN}/user/{admin.pk}/change/", {"full_name": "X"}).status_code == 403
    assert client.get(f"{ADMIN}/apitoken/").status_code == 403
    assert client.get(f"{ADMIN}/auditlog/").status_code == 403
    assert client.post(
        f"{ADMIN}/organization/{rows_a['organization'].pk}/change/", {}
    ).status_code == (403)
    with tenant_context(rows_a["organization"]):
        assert Team.objects.get(pk=team.pk).name == "North"


def test_user_dropdowns_offer_members_only(admin_a, manager_a, admin_b, team_a):
    response = admin_client(admin_a).get(f"{ADMIN}/team/{team_a.pk}/change/")

    choices = {str(pk) for pk, _ in response.context["adminform"].form.fields["manager"].choices}
    assert str(manager_a.pk) in choices and str(admin_a.pk) in choices
    assert str(admin_b.pk) not in choices


def test_team_with_another_organizations_manager_is_refused(admin_a, admin_b, org_a, team_a):
    response = admin_client(admin_a).post(
        f"{ADMIN}/team/{team_a.pk}/change/", {"name": "North", "manager": str(admin_b.pk)}
    )

    assert response.status_code == 200 and response.context["adminform"].form.errors
    with tenant_context(org_a):
        assert Team.objects.get(pk=team_a.pk).manager is None


def test_team_add_change_delete_are_audited(admin_a, manager_a, org_a):
    client = admin_client(admin_a)

    assert client.post(f"{ADMIN}/team/add/", {"name": "South"}).status_code == 302
    with tenant_context(org_a):
        team = Team.objects.get(name="South")
    client.post(f"{ADMIN}/team/{team.pk}/change/", {"name": "South", "manager": manager_a.pk})
    client.post(f"{ADMIN}/team/{team.pk}/delete/", {"post": "yes"})

    assert audit_actions(org_a, target_id=str(team.pk)) == [
        AuditAction.TEAM_CREATED,
        AuditAction.TEAM_CHANGED,
        AuditAction.TEAM_DELETED,
    ]


def test_duplicate_team_name_is_a_form_error(admin_a, team_a):
    response = admin_client(admin_a).post(f"{ADMIN}/team/add/", {"name": "North"})
    assert response.status_code == 200
    assert "exists already" in str(response.context["adminform"].form.errors)


def role_post(name: str, permissions: list[tuple[str, str, str]], **extra) -> dict:
    data = {
        "name": name,
        "slug": "",
        "description": "",
        "permissions-TOTAL_FORMS": str(len(permissions)),
        "permissions-INITIAL_FORMS": "0",
        **extra,
    }
    for n, (resource, action, scope) in enumerate(permissions):
        data.update(
            {
                f"permissions-{n}-resource": resource,
                f"permissions-{n}-action": action,
                f"permissions-{n}-scope": scope,
            }
        )
    return data


def test_custom_role_with_permissions(admin_a, org_a):
    client = admin_client(admin_a)

    response = client.post(
        f"{ADMIN}/role/add/",
        role_post("Team lead", [("teams", "read", "all"), ("teams", "update", "team")]),
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        role = Role.objects.get(name="Team lead")
        grants = set(role.permissions.values_list("resource", "action", "scope"))
    assert role.slug == "team-lead" and not role.is_system
    assert grants == {("teams", "read", "all"), ("teams", "update", "team")}
    actions = audit_actions(org_a, target_id=str(role.pk))
    assert actions[0] == AuditAction.ROLE_CREATED
    assert actions[-1] == AuditAction.PERMISSIONS_CHANGED
    assert audit_rows(org_a, target_id=str(role.pk))[-1].details["permissions"] == [
        "teams:read:all",
        "teams:update:team",
    ]


def test_duplicate_permissions_are_a_form_error(admin_a, org_a):
    response = admin_client(admin_a).post(
        f"{ADMIN}/role/add/",
        role_post("Twice", [("teams", "read", "all"), ("teams", "read", "own")]),
    )
    assert response.status_code == 200
    with tenant_context(org_a):
        assert not Role.objects.filter(name="Twice").exists()


def test_system_roles_are_read_only(admin_a, org_a, rows_a):
    client = admin_client(admin_a)
    role = rows_a["role"]

    page = client.get(f"{ADMIN}/role/{role.pk}/change/")
    post = client.post(f"{ADMIN}/role/{role.pk}/change/", role_post("Seller", []))
    delete = client.post(f"{ADMIN}/role/{role.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert post.status_code == 403 and delete.status_code == 403
    with tenant_context(org_a):
        assert Role.objects.get(pk=role.pk).permissions.count() > 0


def test_membership_change_is_audited(admin_a, rep_a2, org_a, team_a):
    with tenant_context(org_a):
        membership = Membership.objects.get(user=rep_a2)
        manager_role = Role.objects.get(slug="sales_manager")

    response = admin_client(admin_a).post(
        f"{ADMIN}/membership/{membership.pk}/change/",
        {"role": manager_role.pk, "team": team_a.pk, "is_active": "on"},
    )

    assert response.status_code == 302
    (row,) = audit_rows(org_a, action=AuditAction.MEMBERSHIP_CHANGED)
    assert set(row.details["changes"]) == {"role", "team"} and row.actor == admin_a


def test_the_last_admin_cannot_be_demoted_in_the_admin(admin_a, org_a):
    with tenant_context(org_a):
        membership = Membership.objects.get(user=admin_a)
        rep_role = Role.objects.get(slug="sales_rep")

    response = admin_client(admin_a).post(
        f"{ADMIN}/membership/{membership.pk}/change/", {"role": rep_role.pk, "is_active": "on"}
    )

    assert response.status_code == 200
    assert "at least one active Organization Admin" in str(
        response.context["adminform"].form.errors
    )
    delete = admin_client(admin_a).post(
        f"{ADMIN}/membership/{membership.pk}/delete/", {"post": "yes"}
    )
    assert delete.status_code == 403
    with tenant_context(org_a):
        assert Membership.objects.filter(pk=membership.pk, role__slug="org_admin").exists()


def test_memberships_are_not_added_directly(admin_a):
    assert admin_client(admin_a).get(f"{ADMIN}/membership/add/").status_code == 403


def test_invite_a_person_in_the_admin(
    admin_a, org_a, admin_b, mailoutbox, django_capture_on_commit_callbacks
):
    client = admin_client(admin_a)
    with tenant_context(org_a):
        rep_role = Role.objects.get(slug="sales_rep")

    with django_capture_on_commit_callbacks(execute=True):
        new = client.post(
            f"{ADMIN}/invitation/add/", {"email": "fresh@example.test", "role": rep_role.pk}
        )
        existing = client.post(
            f"{ADMIN}/invitation/add/", {"email": admin_b.email, "role": rep_role.pk}
        )
        member = client.post(
            f"{ADMIN}/invitation/add/", {"email": admin_a.email, "role": rep_role.pk}
        )

    # The same answer whether or not the email has an account; nobody joins yet.
    assert new.status_code == existing.status_code == 302
    assert [m.to for m in mailoutbox] == [["fresh@example.test"], [admin_b.email]]
    assert not User.objects.filter(email="fresh@example.test").exists()
    with tenant_context(org_a):
        assert not Membership.objects.filter(user=admin_b).exists()
    assert member.status_code == 200 and "member of the organization" in member.content.decode()
    assert client.get(f"{ADMIN}/user/add/").status_code == 403


def test_org_admin_cannot_edit_a_members_profile(admin_a, rep_a, org_a):
    client = admin_client(admin_a)
    old_name = rep_a.full_name

    response = client.post(
        f"{ADMIN}/user/{rep_a.pk}/change/",
        {"full_name": "Riley Rep", "email": "mine@example.test", "is_superuser": "on"},
    )
    own = client.post(f"{ADMIN}/user/{admin_a.pk}/change/", {"full_name": "Alex Admin"})

    assert response.status_code == 403
    rep_a.refresh_from_db()
    assert rep_a.full_name == old_name and rep_a.is_staff and not rep_a.is_superuser
    assert own.status_code == 302
    admin_a.refresh_from_db()
    assert admin_a.full_name == "Alex Admin"
    # Passwords are the person's own business (or a platform super admin's).
    assert client.get(f"{ADMIN}/user/{rep_a.pk}/password/").status_code == 403
    own_password = client.get(f"{ADMIN}/user/{admin_a.pk}/password/")
    assert own_password.status_code == 302  # to the page that asks for the current one
    assert client.get(own_password["Location"]).status_code == 200


def test_users_cannot_be_deleted_from_the_admin(admin_a, rep_a):
    assert admin_client(admin_a).get(f"{ADMIN}/user/{rep_a.pk}/delete/").status_code == 403


def test_revoke_tokens_from_the_admin(admin_a, rows_a, org_a):
    token = rows_a["apitoken"]

    response = admin_client(admin_a).post(
        f"{ADMIN}/apitoken/",
        {"action": "revoke_selected", "_selected_action": [str(token.pk)]},
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        assert APIToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditAction.TOKEN_REVOKED in audit_actions(org_a)


def test_a_member_revokes_no_token_of_a_member_whose_role_grants_more(org_a, admin_a):
    """A member who manages the members (users:update of the organization) and little
    else revokes the token of a colleague of their role, not an Organization Admin's,
    whose membership is not theirs to change either: the list says why and revokes none
    of those chosen."""
    grants = {("users", action): "all" for action in ("read", "update")}
    with factories.acting_as(admin_a, org_a):
        services.role_create(name="People desk", grants=grants, acting_user=admin_a)
    desk, colleague = (factories.make_member(org_a, "people-desk") for _ in range(2))
    for user in (admin_a, colleague):
        factories.api_client(user, org_a)
    with tenant_context(org_a):
        admins, colleagues = (APIToken.objects.get(user=user) for user in (admin_a, colleague))
    client = admin_client(desk)

    def revoke(*tokens):
        selected = [str(token.pk) for token in tokens]
        return client.post(
            f"{ADMIN}/apitoken/", {"action": "revoke_selected", "_selected_action": selected}
        )

    refused = revoke(admins, colleagues)
    assert refused.status_code == 302
    shown = [str(m) for m in client.get(refused["Location"]).context["messages"]]
    assert any("you cannot revoke their tokens" in message for message in shown), shown
    with tenant_context(org_a):
        assert not APIToken.objects.filter(revoked_at__isnull=False).exists()
    assert revoke(colleagues).status_code == 302
    with tenant_context(org_a):
        revoked = set(
            APIToken.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
        )
    assert revoked == {colleagues.pk}


def test_token_pages_never_show_the_hash(admin_a, rows_a):
    client = admin_client(admin_a)
    token = rows_a["apitoken"]

    for url in (f"{ADMIN}/apitoken/", f"{ADMIN}/apitoken/{token.pk}/change/"):
        assert token.key_hash not in client.get(url).content.decode()
    assert client.post(f"{ADMIN}/apitoken/{token.pk}/change/", {"name": "X"}).status_code == 403
    assert client.get(f"{ADMIN}/apitoken/add/").status_code == 403


def test_the_audit_log_is_read_only(admin_a, rows_a):
    client = admin_client(admin_a)
    row = rows_a["auditlog"]

    assert client.get(f"{ADMIN}/auditlog/add/").status_code == 403
    assert client.post(f"{ADMIN}/auditlog/{row.pk}/change/", {"action": "x"}).status_code == 403
    assert client.post(f"{ADMIN}/auditlog/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(f"{ADMIN}/auditlog/{row.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]


def test_org_admin_renames_their_organization(admin_a, org_a, org_b):
    client = admin_client(admin_a)

    response = client.post(
        f"{ADMIN}/organization/{org_a.pk}/change/",
        {"name": "Acme Websites", "settings": "{}", "plan": "enterprise", "time_zone": "UTC"},
    )

    assert response.status_code == 302
    org_a.refresh_from_db()
    assert org_a.name == "Acme Websites" and org_a.plan == "free"
    assert AuditAction.ORGANIZATION_CHANGED in audit_actions(org_a)
    assert changelist_pks(client, "organization") == {str(org_a.pk)}


def test_platform_admins_see_every_user_and_organization(admin_a, admin_b, org_a, org_b):
    root = factories.UserFactory(is_superuser=True)
    client = admin_client(root)

    assert {str(admin_a.pk), str(admin_b.pk)} <= changelist_pks(client, "user")
    assert {str(org_a.pk), str(org_b.pk)} <= changelist_pks(client, "organization")
    response = client.post(
        f"{ADMIN}/organization/{org_b.pk}/change/",
        {
            "name": "Bravo",
            "plan": "starter",
            "is_active": "on",
            "settings": "{}",
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 302
    assert Organization.objects.get(pk=org_b.pk).plan == "starter"
    # Entering another organization is audited there.
    assert audit_actions(org_b)[-2:] == [
        AuditAction.CROSS_ORGANIZATION_ACCESS,
        AuditAction.ORGANIZATION_CHANGED,
    ]


def test_the_switcher_lists_the_active_memberships_read_with_the_organization(
    org_a, org_b, admin_a
):
    """The header's organization switcher offers each organization the user is an active
    member of, from the memberships the request's organization was chosen from: the
    page reads them once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    third = factories.make_organization("Third Sites", slug="third")
    for organization, active in ((org_b, True), (third, False)):
        other = factories.make_member(
            organization, "sales_rep", email=f"x@{organization.slug}.test"
        )
        with tenant_context(organization):
            Membership.objects.filter(user=other).update(user=admin_a, is_active=active)
    client = admin_client(admin_a)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/admin/")
    assert page.status_code == 200
    assert page.context["organization_choices"] == [
        (str(org_a.pk), org_a.name),
        (str(org_b.pk), org_b.name),
    ]
    memberships = [q for q in captured if q["sql"].startswith('SELECT "accounts_membership"."id"')]
    assert len(memberships) == 1, [q["sql"] for q in memberships]


# A name heads the From of the mail its user sends: the API refuses a line break in it
# (tests/accounts/test_me_and_sessions.py), and so does every page of the back office.
NAMES_OF_TWO_LINES = ['Riley" <x@evil.test>\r\nBcc: evil@attacker.test', "Ri\tley"]


def _refused_name(page, user, before) -> None:
    assert page.status_code == 200  # the form again, with its error
    assert "one line" in " ".join(page.context["adminform"].form.errors["full_name"])
    user.refresh_from_db()
    assert user.full_name == before


@pytest.mark.parametrize("name", NAMES_OF_TWO_LINES)
def test_ones_own_profile_page_refuses_a_name_of_two_lines(rep_a, name):
    before = rep_a.full_name
    page = admin_client(rep_a).post(f"{ADMIN}/user/{rep_a.pk}/change/", {"full_name": name})
    _refused_name(page, rep_a, before)


@pytest.mark.parametrize("name", NAMES_OF_TWO_LINES)
def test_a_platform_admins_user_page_refuses_a_name_of_two_lines(rep_a, org_a, name):
    root = factories.UserFactory(is_superuser=True)
    before = rep_a.full_name
    page = admin_client(root).post(
        f"{ADMIN}/user/{rep_a.pk}/change/",
        {
            "email": rep_a.email,
            "full_name": name,
            "is_active": "on",
            "default_organization": str(org_a.pk),
        },
    )
    _refused_name(page, rep_a, before)


def test_the_membership_list_filters_by_the_roles_its_reader_may_read(
    org_a, admin_b, manager_a, rep_a, readonly_a
):
    """A sales rep reads the members and their teams, not the roles: the list offers them
    no filter by role, which named every role of the organization."""
    with tenant_context(org_a):
        roles = {str(pk) for pk in Role.objects.values_list("pk", flat=True)}

    def offered(user, name: str) -> set[str]:
        page = admin_client(user).get(f"{ADMIN}/membership/").content.decode()
        return set(re.findall(rf"{name}__id__exact=([0-9a-f-]+)", page))

    assert offered(rep_a, "role") == set()
    assert offered(rep_a, "team") != set()
    assert offered(manager_a, "role") == roles
    assert offered(readonly_a, "role") == roles
    assert offered(admin_b, "role").isdisjoint(roles)


def test_the_membership_pages_name_roles_to_their_readers_only(
    org_a, admin_a, manager_a, rep_a, rep_a2, readonly_a
):
    """A sales rep reads the members and their teams, not the roles: the list, a member's
    page, its history and a past version of it name no role to them (the list's role
    filter is not offered either); those who read roles see each member's role."""
    member = factories.make_member(org_a, "sales_rep")
    with tenant_context(org_a):
        membership = Membership.objects.get(user=member)
        role_names = set(Role.objects.values_list("name", flat=True))
    with factories.acting_as(admin_a, org_a):
        services.membership_update(
            membership=membership,
            changes={"role": Role.objects.get(slug="read_only")},
            acting_user=admin_a,
        )
    page = f"{ADMIN}/membership/{membership.pk}"
    with tenant_context(org_a):
        version = membership.history.order_by("history_date").first().history_id

    def shown(user) -> dict[str, set[str]]:
        client = admin_client(user)
        bodies = {
            "list": client.get(f"{ADMIN}/membership/").content.decode(),
            "page": client.get(f"{page}/change/").content.decode(),
            "history": client.get(f"{page}/history/").content.decode(),
            "version": client.get(f"{page}/history/{version}/").content.decode(),
        }
        return {
            part: {name for name in role_names if name in body} for part, body in bodies.items()
        }

    for reader in (rep_a, rep_a2):
        assert shown(reader) == dict.fromkeys(["list", "page", "history", "version"], set())
    for reader in (manager_a, readonly_a, admin_a):
        seen = shown(reader)
        assert {"Sales Rep", "Sales Manager", "Read Only"} <= seen["list"]
        assert "Read Only" in seen["page"]
        assert {"Sales Rep", "Read Only"} <= seen["history"]  # "Sales Rep → Read Only"
        assert "Sales Rep" in seen["version"]


def test_the_membership_form_offers_the_teams_the_editor_may_place_members_in(
    org_a, admin_a, team_a
):
    """A member who edits their team's members (users:update at team scope) is offered
    their own team and no team, as on the invitation form (`placeable_teams`); another
    team, posted all the same, is refused and nothing is saved. The page saved unchanged
    changes nothing. The Organization Admin is offered every team."""
    grants = {("users", "read"): "all", ("teams", "read"): "all", ("users", "update"): "team"}
    with factories.acting_as(admin_a, org_a):
        services.role_create(name="Team desk", grants=grants, acting_user=admin_a)
    desk, colleague = (factories.make_member(org_a, "team-desk", team=team_a) for _ in "ab")
    other = factories.make_team(org_a, "Night shift")
    with tenant_context(org_a):
        membership = Membership.objects.get(user=colleague)
    url = f"{ADMIN}/membership/{membership.pk}/change/"
    client = admin_client(desk)

    def offered(page) -> set[str]:
        select = re.search(r'<select[^>]*name="team"[^>]*>(.*?)</select>', page, re.S).group(1)
        return set(re.findall(r"<option[^>]*>([^<]*)</option>", select))

    page = client.get(url)
    assert page.status_code == 200
    assert offered(page.content.decode()) == {"---------", team_a.name}
    every_team = {"---------", team_a.name, other.name}
    assert offered(admin_client(admin_a).get(url).content.decode()) == every_team

    def stored():
        with tenant_context(org_a):
            row = Membership.objects.get(pk=membership.pk)
        return row.team_id, row.role_id, row.is_active, row.updated_at

    before = stored()
    data = form_data(page.content.decode())
    moved = client.post(url, {**data, "team": [str(other.pk)]})
    assert moved.status_code == 200
    assert "Select a valid choice" in moved.content.decode()
    assert stored() == before

    assert client.post(url, data).status_code == 302
    assert stored() == before
