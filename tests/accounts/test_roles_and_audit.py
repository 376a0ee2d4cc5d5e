"""Custom roles and their effect; the security audit log (API, append-only); encrypted
OAuth tokens."""

import datetime as dt
import importlib
import uuid
from types import SimpleNamespace

import pytest
from django.db import ProgrammingError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from accounts import services
from accounts.audit import AuditAction
from accounts.crypto import decrypt
from accounts.models import AuditLog, Membership, OAuthAccount, Role
from smartweb.rbac import ROLE_HELP
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client, audit_actions, audit_rows
from tests.html_forms import form_data, select_labels

pytestmark = pytest.mark.django_db

TEAM_LEAD_PERMISSIONS = [
    {"resource": "teams", "action": "read", "scope": "all"},
    {"resource": "teams", "action": "update", "scope": "all"},
    {"resource": "users", "action": "read", "scope": "team"},
]


def create_role(client, name="Team lead", permissions=TEAM_LEAD_PERMISSIONS, **extra):
    return client.post(
        "/api/v1/roles/", {"name": name, "permissions": permissions, **extra}, format="json"
    )


def give_role(user, organization, role_id):
    with tenant_context(organization):
        Membership.objects.filter(user=user).update(role_id=role_id)


def test_create_a_custom_role(admin_a, org_a):
    response = create_role(factories.api_client(admin_a, org_a), description="Leads a team")

    assert response.status_code == 201
    body = response.json()
    assert (body["slug"], body["is_system"]) == ("team-lead", False)
    assert sorted(body["permissions"], key=str) == sorted(TEAM_LEAD_PERMISSIONS, key=str)
    created, permissions = audit_rows(org_a, target_id=body["id"])
    assert (created.action, permissions.action) == (
        AuditAction.ROLE_CREATED,
        AuditAction.PERMISSIONS_CHANGED,
    )
    assert permissions.details["permissions"] == [
        "teams:read:all",
        "teams:update:all",
        "users:read:team",
    ]


def test_a_custom_role_decides_what_its_members_may_do(admin_a, rep_a, rep_a2, org_a, team_a):
    role_id = create_role(factories.api_client(admin_a, org_a)).json()["id"]
    give_role(rep_a, org_a, role_id)
    client = factories.api_client(rep_a, org_a)

    me = client.get("/api/v1/me/").json()
    members = {u["email"] for u in client.get("/api/v1/users/").json()["results"]}
    rename = client.patch(f"/api/v1/teams/{team_a.pk}/", {"name": "North-East"})

    assert me["permissions"] == {
        "teams": {"read": "all", "update": "all"},
        "users": {"read": "team"},
    }
    assert rep_a2.email not in members and rep_a.email in members  # team scope
    assert rename.status_code == 200
    assert client.get("/api/v1/roles/").status_code == 403
    assert client.post("/api/v1/teams/", {"name": "South"}).status_code == 403


def test_change_the_permissions_of_a_custom_role(admin_a, rep_a, org_a, team_a):
    admin = factories.api_client(admin_a, org_a)
    role_id = create_role(admin).json()["id"]
    give_role(rep_a, org_a, role_id)

    response = admin.patch(
        f"/api/v1/roles/{role_id}/",
        {"name": "Team reader", "permissions": [TEAM_LEAD_PERMISSIONS[0]]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["permissions"] == [TEAM_LEAD_PERMISSIONS[0]]
    rep = factories.api_client(rep_a, org_a)
    assert rep.patch(f"/api/v1/teams/{team_a.pk}/", {"name": "X"}).status_code == 403
    assert audit_actions(org_a, target_id=role_id)[-2:] == [
        AuditAction.ROLE_CHANGED,
        AuditAction.PERMISSIONS_CHANGED,
    ]


def test_default_roles_are_read_only(admin_a, org_a):
    client = factories.api_client(admin_a, org_a)
    with tenant_context(org_a):
        rep_role = Role.objects.get(slug="sales_rep")
    url = f"/api/v1/roles/{rep_role.pk}/"

    assert client.get(url).status_code == 200
    assert client.patch(url, {"name": "Seller"}, format="json").status_code == 403
    assert client.delete(url).status_code == 403
    with tenant_context(org_a):
        assert Role.objects.get(pk=rep_role.pk).name == "Sales Rep"


def test_a_role_in_use_cannot_be_deleted(admin_a, rep_a, org_a):
    client = factories.api_client(admin_a, org_a)
    role_id = create_role(client).json()["id"]
    give_role(rep_a, org_a, role_id)

    assert client.delete(f"/api/v1/roles/{role_id}/").status_code == 400

    with tenant_context(org_a):
        give_role(rep_a, org_a, Role.objects.get(slug="sales_rep").pk)
    assert client.delete(f"/api/v1/roles/{role_id}/").status_code == 204
    assert AuditAction.ROLE_DELETED in audit_actions(org_a)


def test_invalid_roles_are_400(admin_a, org_a):
    client = factories.api_client(admin_a, org_a)
    twice = [TEAM_LEAD_PERMISSIONS[0], {**TEAM_LEAD_PERMISSIONS[0], "scope": "own"}]

    assert create_role(client, permissions=twice).status_code == 400
    assert create_role(client, permissions=[{"resource": "x", "action": "read"}]).status_code == 400
    assert create_role(client, name="Sales Rep").status_code == 400  # a default role's name
    assert create_role(client).status_code == 201
    assert create_role(client).status_code == 400  # duplicate


def test_nobody_grants_more_than_they_hold(admin_a, rep_a, org_a):
    # A role manager who may not delete leads cannot hand that out.
    role_id = create_role(
        factories.api_client(admin_a, org_a),
        name="Role manager",
        permissions=[
            {"resource": "roles", "action": action, "scope": "all"}
            for action in ("create", "read", "update")
        ]
        + [{"resource": "leads", "action": "read", "scope": "own"}],
    ).json()["id"]
    give_role(rep_a, org_a, role_id)
    client = factories.api_client(rep_a, org_a)

    wider = create_role(
        client, permissions=[{"resource": "leads", "action": "read", "scope": "all"}]
    )
    other = create_role(
        client,
        name="Deleter",
        permissions=[{"resource": "leads", "action": "delete", "scope": "own"}],
    )
    same = create_role(
        client, name="Reader", permissions=[{"resource": "leads", "action": "read", "scope": "own"}]
    )

    assert wider.status_code == other.status_code == 400
    assert "beyond your own permissions" in str(wider.json()["error"])
    assert same.status_code == 201


HELPER_PERMISSIONS = [
    {"resource": "roles", "action": action, "scope": "all"}
    for action in ("create", "read", "update", "delete")
] + [
    {"resource": "users", "action": "read", "scope": "all"},
    {"resource": "users", "action": "update", "scope": "all"},
    {"resource": "leads", "action": "read", "scope": "own"},
]


def role_permissions(organization, role_id) -> set[tuple[str, str, str]]:
    with tenant_context(organization):
        role = Role.objects.get(pk=role_id)
        return {(p.resource, p.action, p.scope) for p in role.permissions.all()}


@pytest.fixture
def role_helper(admin_a, rep_a, org_a):
    """`rep_a` manages roles and members but may not sign in to the admin, and reads only
    their own leads."""
    admin = factories.api_client(admin_a, org_a)
    helper = create_role(admin, name="Helper", permissions=HELPER_PERMISSIONS, back_office=False)
    give_role(rep_a, org_a, helper.json()["id"])
    return factories.api_client(rep_a, org_a), helper.json()["id"]


def test_nobody_changes_a_role_that_grants_more_than_they_hold(role_helper, admin_a, rep_a2, org_a):
    client, _ = role_helper
    big = create_role(
        factories.api_client(admin_a, org_a),
        name="Big",
        permissions=[
            {"resource": "leads", "action": action, "scope": "all"}
            for action in ("create", "read", "update", "delete")
        ],
    ).json()
    give_role(rep_a2, org_a, big["id"])
    before = role_permissions(org_a, big["id"])
    narrowed = [{"resource": "leads", "action": "read", "scope": "own"}]

    answers = [
        client.patch(f"/api/v1/roles/{big['id']}/", {"permissions": narrowed}, format="json"),
        client.patch(f"/api/v1/roles/{big['id']}/", {"back_office": False}, format="json"),
        client.patch(f"/api/v1/roles/{big['id']}/", {"name": "Small"}, format="json"),
        client.delete(f"/api/v1/roles/{big['id']}/"),
    ]

    assert [answer.status_code for answer in answers] == [403] * 4
    assert "grants more than yours" in str(answers[0].json()["error"])
    assert role_permissions(org_a, big["id"]) == before
    with tenant_context(org_a):
        role = Role.objects.get(pk=big["id"])
        assert (role.name, role.back_office) == ("Big", True)


def test_nobody_hands_out_back_office_sign_in_without_it(role_helper, admin_a, rep_a, org_a):
    client, helper_id = role_helper
    # Within the helper's permissions, but signing in to the admin.
    door = create_role(
        factories.api_client(admin_a, org_a),
        name="Door",
        permissions=[{"resource": "leads", "action": "read", "scope": "own"}],
    ).json()

    own = client.patch(f"/api/v1/roles/{helper_id}/", {"back_office": True}, format="json")
    new = create_role(client, name="Gate", permissions=[], back_office=True)
    without = create_role(client, name="Reader", permissions=[], back_office=False)
    moved = client.patch(
        f"/api/v1/memberships/{_membership(rep_a, org_a).pk}/",
        {"role": door["id"]},
        format="json",
    )

    assert [own.status_code, new.status_code, moved.status_code] == [400] * 3
    assert "back-office access" in str(own.json()["error"])
    assert without.status_code == 201
    with tenant_context(org_a):
        assert Role.objects.get(pk=helper_id).back_office is False
        assert not Role.objects.filter(name="Gate").exists()
    assert _membership(rep_a, org_a).role_id == uuid.UUID(helper_id)


def _membership(user, organization) -> Membership:
    with tenant_context(organization):
        return Membership.objects.get(user=user)


def test_the_admin_shows_a_role_above_the_user_read_only(admin_a, rep_a, org_a):
    admin = factories.api_client(admin_a, org_a)
    manager = create_role(
        admin,
        name="Role manager",
        permissions=[
            {"resource": "roles", "action": action, "scope": "all"}
            for action in ("create", "read", "update", "delete")
        ],
    ).json()
    big = create_role(
        admin,
        name="Big",
        permissions=[{"resource": "leads", "action": "read", "scope": "all"}],
    ).json()
    give_role(rep_a, org_a, manager["id"])
    browser = admin_client(rep_a)
    url = f"/admin/accounts/role/{big['id']}/change/"

    page = browser.get(url)
    posted = browser.post(url, {"name": "Small", "slug": "small", "back_office": "on"})

    assert page.status_code == 200
    assert b'name="name"' not in page.content  # shown, not editable
    assert posted.status_code == 403
    assert browser.get(f"/admin/accounts/role/{big['id']}/delete/").status_code == 403
    assert browser.get(f"/admin/accounts/role/{manager['id']}/change/").status_code == 200
    with tenant_context(org_a):
        assert Role.objects.get(pk=big["id"]).name == "Big"


@pytest.mark.parametrize("maker", ["admin", "creator"])
def test_the_admins_add_page_makes_a_role_with_its_permissions(admin_a, rep_a, org_a, maker):
    """The permissions of a role made on the admin's Add page are part of making it: an
    Organization Admin's, and those of a member who may create roles but change none
    (roles:create without roles:update), are saved with it."""
    creator = create_role(
        factories.api_client(admin_a, org_a),
        name="Role creator",
        permissions=[
            {"resource": "roles", "action": action, "scope": "all"} for action in ("create", "read")
        ]
        + [{"resource": "leads", "action": "read", "scope": "all"}],
    ).json()
    give_role(rep_a, org_a, creator["id"])
    browser = admin_client(admin_a if maker == "admin" else rep_a)
    add = "/admin/accounts/role/add/"
    data = {
        **{name: values[0] for name, values in form_data(browser.get(add).text).items()},
        "name": "Lead reader",
        "slug": "lead-reader",
        "permissions-TOTAL_FORMS": "1",
        "permissions-0-resource": "leads",
        "permissions-0-action": "read",
        "permissions-0-scope": "team",
    }

    posted = browser.post(add, data)

    assert posted.status_code == 302, posted.content.decode()[:2000]
    with tenant_context(org_a):
        role = Role.objects.get(slug="lead-reader")
        assert services.role_grant_map(role) == {("leads", "read"): "team"}


def test_another_organizations_roles_are_404(admin_a, org_a, org_b):
    client = factories.api_client(admin_a, org_a)
    with tenant_context(org_b):
        b_role = Role.objects.get(slug="read_only")
    assert client.get(f"/api/v1/roles/{b_role.pk}/").status_code == 404
    names = [r["slug"] for r in client.get("/api/v1/roles/").json()["results"]]
    assert len(names) == 5


@pytest.mark.parametrize("person", ["rep_a", "readonly_a", "manager_a"])
def test_role_writes_need_the_permission(person, org_a, request):
    client = factories.api_client(request.getfixturevalue(person), org_a)
    assert create_role(client).status_code == 403


# Audit log


def test_audit_log_for_org_admins(admin_a, org_a):
    client = factories.api_client(admin_a, org_a)

    response = client.get("/api/v1/audit-logs/")

    assert response.status_code == 200
    actions = [row["action"] for row in response.json()["results"]]
    assert actions[0] == AuditAction.TOKEN_CREATED  # newest first
    assert AuditAction.ORGANIZATION_CREATED in actions


def test_audit_log_filters_and_cursor_pages(admin_a, org_a):
    client = factories.api_client(admin_a, org_a)
    for _ in range(3):
        client.post("/api/v1/teams/", {"name": f"Team {timezone.now().timestamp()}"})

    created = client.get("/api/v1/audit-logs/", {"action": "team.created"}).json()["results"]
    page = client.get("/api/v1/audit-logs/", {"page_size": 2}).json()
    later = client.get(page["next"]).json()
    tomorrow = (timezone.now() + dt.timedelta(days=1)).isoformat()
    future = client.get("/api/v1/audit-logs/", {"since": tomorrow}).json()["results"]
    before = client.get("/api/v1/audit-logs/", {"until": tomorrow}).json()["results"]

    assert [r["action"] for r in created] == ["team.created"] * 3
    assert len(page["results"]) == 2 and page["next"] and "count" not in page
    assert not {r["id"] for r in page["results"]} & {r["id"] for r in later["results"]}
    assert future == [] and len(before) >= 5
    assert client.get("/api/v1/audit-logs/", {"since": "yesterday"}).status_code == 400


@pytest.mark.parametrize("person", ["rep_a", "readonly_a", "manager_a"])
def test_audit_log_needs_the_permission(person, org_a, request):
    client = factories.api_client(request.getfixturevalue(person), org_a)
    assert client.get("/api/v1/audit-logs/").status_code == 403


def test_audit_log_of_another_organization_is_invisible(admin_a, org_a, admin_b, org_b):
    with tenant_context(org_a):
        a_row = AuditLog.objects.first()
    client = factories.api_client(admin_b, org_b)

    rows = client.get("/api/v1/audit-logs/").json()["results"]

    assert a_row.pk not in {r["id"] for r in rows}
    assert client.get(f"/api/v1/audit-logs/{a_row.pk}/").status_code == 404


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_logs SET action = 'x'", "DELETE FROM audit_logs"]
)
def test_the_runtime_role_cannot_change_the_audit_log(statement, org_a):
    with tenant_context(org_a):
        before = list(AuditLog.objects.values_list("id", "action"))
        assert before
        with (
            pytest.raises(ProgrammingError, match="permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
        assert list(AuditLog.objects.values_list("id", "action")) == before


def test_oauth_tokens_are_encrypted_at_rest(rep_a):
    account = OAuthAccount(user=rep_a, provider="google", provider_account_id="1234")
    account.set_tokens(access="ya29.access-secret", refresh="1//refresh-secret")
    account.save()

    stored = OAuthAccount.objects.values("access_token_encrypted", "refresh_token_encrypted").get()

    assert "access-secret" not in stored["access_token_encrypted"]
    assert "refresh-secret" not in stored["refresh_token_encrypted"]
    assert OAuthAccount.objects.get().get_access_token() == "ya29.access-secret"
    assert decrypt(stored["refresh_token_encrypted"]) == "1//refresh-secret"


RENAMING = importlib.import_module(
    "accounts.migrations.0024_role_help_and_organization_super_admin"
)


def _super_admin_name(organization) -> str:
    with tenant_context(organization):
        return Role.objects.get(slug="super_admin").name


def test_existing_organizations_super_admin_role_is_renamed_by_its_migration(org_a, org_b, admin_b):
    """Named "Super Admin" before, it is "Organization Super Admin" after, but where a
    custom role has that name already (names are unique in an organization)."""
    # The models as the migration sees them (plain managers, the context its own).
    state = MigrationLoader(connection).project_state(
        ("accounts", RENAMING.__name__.split(".")[-1])
    )
    migration_apps, editor = state.apps, SimpleNamespace(connection=connection)
    RENAMING.name_it_super_admin(migration_apps, editor)  # as before the migration
    assert _super_admin_name(org_a) == _super_admin_name(org_b) == "Super Admin"
    with factories.acting_as(admin_b, org_b):
        services.role_create(name="Organization Super Admin", grants={}, acting_user=admin_b)

    RENAMING.name_it_organization_super_admin(migration_apps, editor)

    assert _super_admin_name(org_a) == "Organization Super Admin"
    assert _super_admin_name(org_b) == "Super Admin"


def test_the_role_fields_say_what_the_organization_super_admin_grants(admin_a, org_a):
    """Offered by a name that does not read as the platform's super admin, with the help
    that it grants what Organization Admin does, in this organization only."""
    client = admin_client(admin_a)
    invite = client.get("/admin/accounts/invitation/add/").content.decode()
    with tenant_context(org_a):
        membership = Membership.objects.get(user=admin_a)
    member = client.get(f"/admin/accounts/membership/{membership.pk}/change/").content.decode()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    bodies = schema["components"]["schemas"]

    for page in (invite, member):
        offered = select_labels(page, "role")
        assert "Organization Super Admin" in offered and "Super Admin" not in offered
        assert "Organization Super Admin grants what Organization Admin does" in page
    for body in ("MemberInviteRequest", "PatchedMemberUpdateRequest", "MembershipRequest"):
        assert bodies[body]["properties"]["role"]["description"] == ROLE_HELP
    assert "grants what Organization Admin does" in ROLE_HELP
