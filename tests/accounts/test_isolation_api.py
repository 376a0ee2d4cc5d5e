"""Every accounts endpoint against people who must not reach organization A's rows:
admin_b (another organization) gets 404 or lists without them; readonly_a and rep_a
(A's people without the permission) get 403 on every write."""

import pytest
from django.test import Client

from accounts import services
from accounts.models import APIToken, AuditLog, Membership, Role, UserSession
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows_a(org_a, admin_a, rep_a, team_a):
    """One row of A for each endpoint, by kind."""
    factories.api_client(rep_a, org_a)  # a token of rep_a
    Client().post("/admin/login/", {"username": admin_a.email, "password": PASSWORD})
    with factories.acting_as(admin_a, org_a):
        custom = services.role_create(
            name="Custom", grants={("teams", "read"): "all"}, acting_user=admin_a
        )
        return {
            "org": org_a.pk,
            "user": rep_a.pk,
            "membership": Membership.objects.get(user=rep_a).pk,
            "team": team_a.pk,
            "role": custom.pk,
            "system_role": Role.objects.get(slug="org_admin").pk,
            "audit": AuditLog.objects.first().pk,
            "token": APIToken.objects.get(user=rep_a).pk,
            "session": UserSession.objects.get(user=admin_a).pk,
        }


LISTS = [
    "/api/v1/organizations/",
    "/api/v1/users/",
    "/api/v1/memberships/",
    "/api/v1/teams/",
    "/api/v1/roles/",
    "/api/v1/audit-logs/",
    "/api/v1/auth/tokens/",
    "/api/v1/me/sessions/",
]


@pytest.mark.parametrize("url", LISTS)
def test_lists_of_another_organization_hold_none_of_its_rows(url, rows_a, admin_b, org_b):
    response = factories.api_client(admin_b, org_b).get(url)

    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert not ids & {str(value) for value in rows_a.values()}


# (method, url template, row kind, body)
OTHER_ORGANIZATION_REQUESTS = [
    ("get", "/api/v1/organizations/{}/", "org", None),
    ("patch", "/api/v1/organizations/{}/", "org", {"name": "X"}),
    ("get", "/api/v1/users/{}/", "user", None),
    ("patch", "/api/v1/users/{}/", "user", {"full_name": "X"}),
    ("put", "/api/v1/users/{}/", "user", {"full_name": "X"}),
    ("post", "/api/v1/users/{}/deactivate/", "user", None),
    ("post", "/api/v1/users/{}/activate/", "user", None),
    ("get", "/api/v1/memberships/{}/", "membership", None),
    ("patch", "/api/v1/memberships/{}/", "membership", {"is_active": False}),
    ("delete", "/api/v1/memberships/{}/", "membership", None),
    ("get", "/api/v1/teams/{}/", "team", None),
    ("patch", "/api/v1/teams/{}/", "team", {"name": "X"}),
    ("delete", "/api/v1/teams/{}/", "team", None),
    ("get", "/api/v1/roles/{}/", "role", None),
    ("patch", "/api/v1/roles/{}/", "role", {"name": "X"}),
    ("delete", "/api/v1/roles/{}/", "role", None),
    ("get", "/api/v1/audit-logs/{}/", "audit", None),
    ("post", "/api/v1/me/sessions/{}/revoke/", "session", None),
]


@pytest.mark.parametrize(("method", "url", "kind", "body"), OTHER_ORGANIZATION_REQUESTS)
def test_rows_of_another_organization_are_404(method, url, kind, body, rows_a, admin_b, org_b):
    client = factories.api_client(admin_b, org_b)

    response = getattr(client, method)(url.format(rows_a[kind]), body, format="json")

    assert response.status_code == 404


def test_tokens_of_another_organization_cannot_be_revoked(rows_a, admin_b, org_b, org_a):
    client = factories.api_client(admin_b, org_b)
    response = client.post("/api/v1/auth/token/revoke/", {"id": str(rows_a["token"])})
    assert response.status_code == 404
    with tenant_context(org_a):
        assert APIToken.objects.get(pk=rows_a["token"]).revoked_at is None


def test_nothing_of_a_changed_after_the_attempts(rows_a, admin_b, org_b, org_a, rep_a, team_a):
    client = factories.api_client(admin_b, org_b)
    for method, url, kind, body in OTHER_ORGANIZATION_REQUESTS:
        getattr(client, method)(url.format(rows_a[kind]), body, format="json")

    with tenant_context(org_a):
        membership = Membership.objects.select_related("team").get(user=rep_a)
        assert membership.is_active and membership.team.name == "North"
        assert Role.objects.get(pk=rows_a["role"]).name == "Custom"
    assert UserSession.objects.get(pk=rows_a["session"]).revoked_at is None


# (method, url template, row kind, body) that need a permission readonly_a and rep_a lack
WRITES = [
    ("patch", "/api/v1/organizations/{}/", "org", {"name": "X"}),
    ("post", "/api/v1/users/", None, {"email": "x@example.test", "role": "{system_role}"}),
    ("patch", "/api/v1/users/{}/", "user", {"full_name": "X"}),
    ("post", "/api/v1/users/{}/deactivate/", "user", None),
    ("patch", "/api/v1/memberships/{}/", "membership", {"is_active": False}),
    ("delete", "/api/v1/memberships/{}/", "membership", None),
    ("post", "/api/v1/teams/", None, {"name": "South"}),
    ("patch", "/api/v1/teams/{}/", "team", {"name": "X"}),
    ("delete", "/api/v1/teams/{}/", "team", None),
    ("post", "/api/v1/roles/", None, {"name": "Mine", "permissions": []}),
    ("patch", "/api/v1/roles/{}/", "role", {"name": "X"}),
    ("delete", "/api/v1/roles/{}/", "role", None),
    ("get", "/api/v1/audit-logs/", None, None),
    ("post", "/api/v1/organizations/", None, {"name": "Y", "admin_email": "y@example.test"}),
]


@pytest.mark.parametrize("person", ["readonly_a", "rep_a"])
@pytest.mark.parametrize(("method", "url", "kind", "body"), WRITES)
def test_writes_without_the_permission_are_403(
    person, method, url, kind, body, rows_a, org_a, request
):
    client = factories.api_client(request.getfixturevalue(person), org_a)
    if body and body.get("role") == "{system_role}":
        body = {**body, "role": str(rows_a["system_role"])}

    response = getattr(client, method)(url.format(rows_a.get(kind)), body, format="json")

    assert response.status_code == 403
