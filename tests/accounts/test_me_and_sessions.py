"""/me, the choice of organization (X-Organization), and signed-in sessions."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import Membership, Role, UserSession
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client, audit_actions
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def join(user, organization, role_slug="read_only"):
    with tenant_context(organization):
        return Membership.objects.create(
            organization=organization, user=user, role=Role.objects.get(slug=role_slug)
        )


def test_me_of_a_member(rep_a, org_a, team_a):
    response = factories.api_client(rep_a, org_a).get("/api/v1/me/")

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == rep_a.email and body["user"]["is_superuser"] is False
    assert body["organization"]["slug"] == "acme"
    (membership,) = body["memberships"]
    assert membership["id"] == body["membership"]
    assert membership["role"]["slug"] == "sales_rep"
    assert membership["organization"]["slug"] == "acme"
    permissions = body["permissions"]
    assert permissions["leads"] == {"create": "own", "read": "own", "update": "own"}
    assert permissions["users"] == {"read": "all"}
    assert "audit_logs" not in permissions and "roles" not in permissions


def test_me_lists_every_organization_with_its_own_role(admin_a, org_a, org_b):
    join(admin_a, org_b, "sales_manager")

    body = factories.session_client(admin_a, org_b).get("/api/v1/me/").json()

    assert body["organization"]["slug"] == "bravo"
    roles = {m["organization"]["slug"]: m["role"]["slug"] for m in body["memberships"]}
    assert roles == {"acme": "org_admin", "bravo": "sales_manager"}
    assert body["permissions"]["roles"] == {"read": "all"}


def test_me_of_a_user_without_organization(db):
    loner = factories.UserFactory()

    body = factories.session_client(loner).get("/api/v1/me/").json()

    assert body["organization"] is None and body["membership"] is None
    assert body["memberships"] == [] and body["permissions"] == {}


def test_me_needs_authentication(db):
    assert Client().get("/api/v1/me/").status_code in (401, 403)


def test_x_organization_of_another_organization_is_403(admin_a, org_b):
    client = factories.session_client(admin_a)

    for value in (str(org_b.pk), "bravo", "no-such-org"):
        response = client.get("/api/v1/me/", HTTP_X_ORGANIZATION=value)
        assert response.status_code == 403, value
        assert response.json()["error"]["code"] == "permission_denied"


def test_deactivated_membership_is_403(rep_a, org_a):
    with tenant_context(org_a):
        Membership.objects.filter(user=rep_a).update(is_active=False)

    client = factories.session_client(rep_a)
    assert client.get("/api/v1/me/", HTTP_X_ORGANIZATION="acme").status_code == 403
    assert client.get("/api/v1/users/").status_code == 403


def test_deactivated_organization_is_403(admin_a, org_a):
    org_a.is_active = False
    org_a.save()

    client = factories.session_client(admin_a)
    assert client.get("/api/v1/me/", HTTP_X_ORGANIZATION="acme").status_code == 403
    assert client.get("/api/v1/teams/").status_code == 403


def test_switching_organization_by_header(admin_a, org_a, org_b, admin_b):
    join(admin_a, org_b)
    client = factories.session_client(admin_a)

    acme = client.get("/api/v1/users/", HTTP_X_ORGANIZATION="acme").json()["results"]
    bravo = client.get("/api/v1/users/", HTTP_X_ORGANIZATION="bravo").json()["results"]

    assert {u["email"] for u in acme} == {admin_a.email}
    assert {u["email"] for u in bravo} == {admin_a.email, admin_b.email}
    assert client.post(
        "/api/v1/teams/", {"name": "X"}, HTTP_X_ORGANIZATION="bravo"
    ).status_code == (403)


# Sessions


def login(email: str, **headers) -> Client:
    client = Client(**headers)
    response = client.post("/admin/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_a_login_records_the_device(admin_a):
    client = login(admin_a.email, HTTP_USER_AGENT="Firefox on Linux", REMOTE_ADDR="192.0.2.7")

    (session,) = UserSession.objects.filter(user=admin_a)
    assert session.session_key == client.session.session_key
    assert (session.device, session.ip_address) == ("Firefox on Linux", "192.0.2.7")
    assert session.revoked_at is None


def test_list_own_sessions(admin_a, rep_a):
    laptop = login(admin_a.email, HTTP_USER_AGENT="laptop")
    login(admin_a.email, HTTP_USER_AGENT="phone")
    login(rep_a.email, HTTP_USER_AGENT="someone else")

    response = laptop.get("/api/v1/me/sessions/")

    assert response.status_code == 200
    sessions = response.json()["results"]
    assert {s["device"]: s["is_current"] for s in sessions} == {"laptop": True, "phone": False}
    assert "session_key" not in sessions[0]


def test_revoking_a_session_signs_that_device_out(admin_a, org_a):
    laptop = login(admin_a.email, HTTP_USER_AGENT="laptop")
    phone = login(admin_a.email, HTTP_USER_AGENT="phone")
    phone_id = str(UserSession.objects.get(device="phone").pk)

    response = laptop.post(f"/api/v1/me/sessions/{phone_id}/revoke/")

    assert response.status_code == 200 and response.json()["revoked_at"]
    assert phone.get("/api/v1/me/").status_code in (401, 403)
    assert phone.get("/admin/").status_code == 302
    assert laptop.get("/api/v1/me/").status_code == 200
    assert AuditAction.SESSION_REVOKED in audit_actions(org_a)


def test_sessions_of_others_are_404(admin_a, rep_a, admin_b):
    login(rep_a.email)
    login(admin_b.email)
    client = factories.api_client(admin_a, None)

    for session in UserSession.objects.exclude(user=admin_a):
        assert client.post(f"/api/v1/me/sessions/{session.pk}/revoke/").status_code == 404
    assert not UserSession.objects.filter(revoked_at__isnull=False).exists()


def test_logout_ends_the_session(admin_a):
    client = login(admin_a.email)
    client.post("/admin/logout/")
    assert UserSession.objects.get(user=admin_a).revoked_at is not None


def test_last_seen_is_refreshed_while_in_use(admin_a):
    client = login(admin_a.email)
    session = UserSession.objects.get(user=admin_a)
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    UserSession.objects.filter(pk=session.pk).update(last_seen_at=an_hour_ago)

    client.get("/admin/", REMOTE_ADDR="192.0.2.99")

    session.refresh_from_db()
    assert session.last_seen_at > an_hour_ago + dt.timedelta(minutes=59)
    assert session.ip_address == "192.0.2.99"


def test_force_login_is_recorded_too(admin_a):
    admin_client(admin_a)
    assert UserSession.objects.filter(user=admin_a).count() == 1


@pytest.mark.parametrize(
    "body", [{"is_superuser": True}, {"email": "taken@example.test"}, {"colour": "blue"}]
)
def test_me_refuses_what_it_does_not_change(rep_a, org_a, body):
    """Only the name changes here: a read-only or unknown field is a 400 naming it, not a
    200 that changed nothing (as PATCH /users/{id}/ answers a profile field)."""
    client = factories.api_client(rep_a, org_a)
    email = rep_a.email

    response = client.patch("/api/v1/me/", {**body, "full_name": "Renamed"}, format="json")

    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["details"]) == set(body)
    rep_a.refresh_from_db()
    assert rep_a.email == email and not rep_a.is_superuser and rep_a.full_name != "Renamed"
    renamed = client.patch("/api/v1/me/", {"full_name": "Renamed"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["user"]["full_name"] == "Renamed"
    schema = client.get("/api/schema/?format=json").json()
    assert "400" in schema["paths"]["/api/v1/me/"]["patch"]["responses"]


@pytest.mark.parametrize("name", ['Riley" <x@evil.test>\r\nBcc: evil@attacker.test', "Ri\tley"])
def test_a_name_is_one_line(rep_a, org_a, name):
    """A name heads the From of the mail one sends: a line break there failed every later
    message of theirs. Refused with a 400, and the name is unchanged."""
    before = rep_a.full_name
    response = factories.api_client(rep_a, org_a).patch(
        "/api/v1/me/", {"full_name": name}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "one line" in str(response.json()["error"]["details"]["full_name"])
    rep_a.refresh_from_db()
    assert rep_a.full_name == before
