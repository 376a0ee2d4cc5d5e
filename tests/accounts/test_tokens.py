"""API tokens: obtain, use, list, revoke, expire; the organization each belongs to."""

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import login_guard
from accounts.audit import AuditAction, record_audit_event
from accounts.models import APIToken, Membership, Role, RolePermission, hash_token
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import audit_actions, audit_rows, bearer, obtain_token
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


def test_token_for_the_default_organization(admin_a, org_a):
    response = obtain_token(admin_a.email, name="CI", expires_in_days=7)

    assert response.status_code == 201
    body = response.json()
    assert body["organization"] == str(org_a.pk)
    assert body["token"].startswith("swt_")
    with tenant_context(org_a):
        token = APIToken.objects.get(pk=body["id"])
    assert token.user == admin_a and token.name == "CI"
    assert token.key_hash == hash_token(body["token"]) and body["token"] not in token.key_hash
    assert dt.timedelta(days=6) < token.expires_at - timezone.now() <= dt.timedelta(days=7)
    me = bearer(body["token"]).get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["organization"]["id"] == str(org_a.pk)


def test_email_is_case_insensitive(admin_a):
    assert obtain_token(admin_a.email.upper()).status_code == 201


def test_token_for_a_chosen_organization_by_slug_or_id(admin_a, org_a, org_b):
    with tenant_context(org_b):
        Membership.objects.create(
            organization=org_b, user=admin_a, role=Role.objects.get(slug="read_only")
        )
    by_slug = obtain_token(admin_a.email, organization="bravo")
    by_id = obtain_token(admin_a.email, organization=str(org_b.pk))

    assert by_slug.status_code == by_id.status_code == 201
    assert by_slug.json()["organization"] == by_id.json()["organization"] == str(org_b.pk)
    # The token works in its own organization only.
    client = bearer(by_slug.json()["token"])
    assert client.get("/api/v1/me/").json()["organization"]["slug"] == "bravo"
    assert client.get("/api/v1/me/", HTTP_X_ORGANIZATION="acme").status_code == 403


def test_non_member_organization_is_refused(admin_a, org_b):
    response = obtain_token(admin_a.email, organization="bravo")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    with tenant_context(org_b):
        assert not APIToken.objects.exists()


def test_user_without_organization_gets_no_token(db):
    loner = factories.UserFactory()
    assert obtain_token(loner.email).status_code == 403


def test_deactivated_membership_or_organization_gets_no_token(org_a, rep_a):
    with tenant_context(org_a):
        Membership.objects.filter(user=rep_a).update(is_active=False)
    assert obtain_token(rep_a.email).status_code == 403

    with tenant_context(org_a):
        Membership.objects.filter(user=rep_a).update(is_active=True)
    org_a.is_active = False
    org_a.save()
    assert obtain_token(rep_a.email).status_code == 403


@pytest.mark.parametrize("email", ["nobody@example.test", None])
def test_wrong_credentials_are_401(admin_a, email):
    response = obtain_token(email or admin_a.email, password="wrong-password")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert "token" not in response.json()


def test_bad_input_is_400(admin_a):
    assert obtain_token("not-an-email").status_code == 400
    assert obtain_token(admin_a.email, expires_in_days=0).status_code == 400
    assert obtain_token(admin_a.email, expires_in_days=366).status_code == 400


def test_login_and_token_creation_are_audited(admin_a, org_a):
    token_id = obtain_token(admin_a.email).json()["id"]

    login, created = audit_rows(org_a, action__in=[AuditAction.LOGIN, AuditAction.TOKEN_CREATED])
    assert (login.action, login.actor, login.details) == (
        AuditAction.LOGIN,
        admin_a,
        {"method": "api_token"},
    )
    assert login.ip_address == "127.0.0.1"
    assert (created.action, created.target_id) == (AuditAction.TOKEN_CREATED, token_id)


def test_failed_login_of_a_member_is_audited_in_their_organization(rep_a, org_a):
    obtain_token(rep_a.email, password="wrong-password")

    (row,) = audit_rows(org_a, action=AuditAction.LOGIN_FAILED)
    assert row.actor is None and row.actor_email == rep_a.email
    assert row.target_id == str(rep_a.pk) and row.details == {"known_user": True}


def test_failed_login_of_an_unknown_email_is_audited_without_organization(org_a):
    written = []

    def record(**kwargs):
        written.append(record_audit_event(**kwargs))
        return written[-1]

    with mock.patch.object(login_guard, "record_audit_event", side_effect=record):
        obtain_token("ghost@example.test", password="wrong-password")

    # The insert policy admits a row with no organization; no organization can read it.
    (row,) = written
    assert row.pk and row.organization_id is None
    assert (row.action, row.actor_email) == (AuditAction.LOGIN_FAILED, "ghost@example.test")
    assert row.details == {"known_user": False}
    assert AuditAction.LOGIN_FAILED not in audit_actions(org_a)


def test_token_list_shows_own_tokens_of_this_organization_without_secrets(
    admin_a, manager_a, org_a, org_b
):
    client = factories.api_client(admin_a, org_a)
    factories.api_client(manager_a, org_a)  # someone else's token in the same organization

    response = client.get("/api/v1/auth/tokens/")

    assert response.status_code == 200
    (token,) = response.json()["results"]
    assert token["is_current"] is True
    assert set(token) == {
        "id",
        "name",
        "key_prefix",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "sso_authorized_at",
        "confined",
        "second_factor_at",
        "status",
        "is_current",
    }
    assert token["last_used_at"] is not None
    assert (token["status"], token["sso_authorized_at"]) == ("active", None)


def test_revoke_the_current_token(admin_a, org_a):
    raw = obtain_token(admin_a.email).json()["token"]
    client = bearer(raw)

    response = client.post("/api/v1/auth/token/revoke/")

    assert response.status_code == 200 and response.json()["revoked_at"]
    assert client.get("/api/v1/me/").status_code == 401
    assert AuditAction.TOKEN_REVOKED in audit_actions(org_a)


def test_revoke_another_own_token_by_id(admin_a, org_a):
    first = obtain_token(admin_a.email).json()
    second = bearer(obtain_token(admin_a.email).json()["token"])

    response = second.post("/api/v1/auth/token/revoke/", {"id": first["id"]}, format="json")

    assert response.status_code == 200
    assert bearer(first["token"]).get("/api/v1/me/").status_code == 401
    assert second.get("/api/v1/me/").status_code == 200


def test_revoke_refuses_tokens_of_others(admin_a, rep_a, admin_b, org_a, org_b):
    rep_token = obtain_token(rep_a.email).json()
    b_token = obtain_token(admin_b.email).json()
    client = factories.api_client(admin_a, org_a)

    for token in (rep_token, b_token):
        response = client.post("/api/v1/auth/token/revoke/", {"id": token["id"]}, format="json")
        assert response.status_code == 404
        assert bearer(token["token"]).get("/api/v1/me/").status_code == 200


def test_revoke_without_a_token_names_one(admin_a, org_a):
    client = factories.session_client(admin_a, org_a)
    assert client.post("/api/v1/auth/token/revoke/").status_code == 400


def test_expired_token_is_401(admin_a, org_a):
    body = obtain_token(admin_a.email, expires_in_days=1).json()
    with tenant_context(org_a):
        APIToken.objects.filter(pk=body["id"]).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )

    response = bearer(body["token"]).get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_garbage_token_is_401(db):
    assert bearer("swt_nothex_secret").get("/api/v1/me/").status_code == 401
    assert bearer("x").get("/api/v1/me/").status_code == 401


def test_token_of_a_deactivated_member_is_refused(rep_a, org_a):
    client = factories.api_client(rep_a, org_a)
    with tenant_context(org_a):
        Membership.objects.filter(user=rep_a).update(is_active=False)

    assert client.get("/api/v1/me/").status_code == 403


def test_token_of_a_removed_member_is_refused(rep_a, org_a):
    client = factories.api_client(rep_a, org_a)
    with tenant_context(org_a):
        Membership.objects.get(user=rep_a).delete()

    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert "not a member" in response.json()["error"]["message"]


def test_a_role_change_applies_to_the_next_token_request(rep_a, org_a):
    client = factories.api_client(rep_a, org_a)
    assert client.get("/api/v1/leads/").status_code == 200
    with tenant_context(org_a):
        RolePermission.objects.filter(
            role__memberships__user=rep_a, resource=Resource.LEADS, action=Action.READ
        ).delete()

    assert client.get("/api/v1/leads/").status_code == 403


def test_an_object_grant_is_seen_through_a_token(org_a, rep_a, rep_a2, admin_a):
    shared = make_lead(org_a, contact_name="Shared", assigned_to=rep_a)
    make_lead(org_a, contact_name="Private", assigned_to=rep_a)
    client = factories.api_client(rep_a2, org_a)
    assert client.get("/api/v1/leads/").json()["results"] == []
    factories.share(shared, rep_a2, org_a, by=admin_a)

    listed = client.get("/api/v1/leads/").json()["results"]
    assert [lead["id"] for lead in listed] == [str(shared.pk)]


def test_a_token_request_enters_its_organization_in_one_statement(admin_a, org_a):
    """The look-up function reads the token, user, membership and grants and sets the
    context, organization and user, itself (accounts 0016). The permission checks of the
    view read nothing more."""
    client = factories.api_client(admin_a, org_a)
    client.get("/api/v1/me/")  # the first use records the token's use (one write)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/tags/").status_code == 200
    # the request's transaction is a savepoint inside the test's
    others = [
        q["sql"]
        for q in captured.captured_queries
        if '"leads_tag"' not in q["sql"] and "SAVEPOINT" not in q["sql"]
    ]
    assert len(others) == 1, others
    assert "FROM smartweb_token_lookup(" in others[0]
