"""A new password can revoke the user's API tokens with it: a token made with a stolen
password keeps working after the password changes otherwise. The password pages say how
many tokens are active (in every organization) and offer to revoke them, on by default;
the API takes `revoke_api_tokens`. Each revocation is audited in its organization."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from accounts import services, user_tokens
from accounts.audit import AuditAction
from accounts.models import APIToken, Membership, Role, UserSession
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client, audit_rows, bearer

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-Long-enough-pw-42"
OWN_PAGE = "/admin/password_change/"


def reset_page(user) -> str:
    return f"/admin/accounts/user/{user.pk}/password/"


@pytest.fixture
def rep_in_two(rep_a, org_b):
    """rep_a, a member of org_b too."""
    with tenant_context(org_b):
        Membership.objects.create(
            organization=org_b, user=rep_a, role=Role.objects.get(slug="sales_rep")
        )
    return rep_a


def new_token(user, organization, **fields) -> APIToken:
    with tenant_context(organization, user=user):
        token, raw = services.token_create(
            user=user, organization_id=organization.pk, name="integration"
        )
        APIToken.objects.filter(pk=token.pk).update(**fields)
    token.raw = raw
    return token


def works(token) -> bool:
    """Whether `token` still authenticates."""
    return bearer(token.raw).get("/api/v1/me/").status_code == 200


def revocations(organization) -> list[dict]:
    return [
        {"token": row.target_id, **row.details}
        for row in audit_rows(organization, action=AuditAction.TOKEN_REVOKED)
    ]


def signed_in_client(user) -> Client:
    client = Client()
    response = client.post(
        "/admin/login/", {"username": user.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302, response.content
    return client


# --- the count -----------------------------------------------------------------------------


def test_the_active_tokens_are_counted_in_every_organization(rep_in_two, org_a, org_b, admin_a):
    new_token(rep_in_two, org_a)
    new_token(rep_in_two, org_b)
    new_token(rep_in_two, org_b, revoked_at=timezone.now())
    new_token(rep_in_two, org_b, expires_at=timezone.now() - dt.timedelta(days=1))
    new_token(admin_a, org_a)  # someone else's

    assert user_tokens.active_count(rep_in_two) == 2


def test_a_removed_members_tokens_are_counted(rep_a, org_a):
    new_token(rep_a, org_a)
    with tenant_context(org_a):
        Membership.objects.get(user=rep_a).delete()

    # Invited again, the member would get the membership, and the token, back.
    assert user_tokens.active_count(rep_a) == 1


# --- the API -------------------------------------------------------------------------------


def test_the_api_revokes_the_other_tokens_in_every_organization_when_asked(
    rep_in_two, org_a, org_b, admin_a
):
    this = new_token(rep_in_two, org_a)
    others = [new_token(rep_in_two, org_a), new_token(rep_in_two, org_b)]
    colleagues = new_token(admin_a, org_a)

    response = bearer(this.raw).post(
        "/api/v1/me/password/",
        {
            "current_password": factories.PASSWORD,
            "new_password": NEW_PASSWORD,
            "revoke_api_tokens": True,
        },
        format="json",
    )

    assert response.status_code == 204, response.content
    assert works(this) and works(colleagues)
    assert not any(works(token) for token in others)
    assert revocations(org_a) == [{"token": str(others[0].pk), "reason": "password_change"}]
    assert revocations(org_b) == [{"token": str(others[1].pk), "reason": "password_change"}]
    assert audit_rows(org_a, action=AuditAction.TOKEN_REVOKED)[0].actor_id == rep_in_two.pk


def test_the_api_keeps_the_tokens_unless_asked(rep_a, org_a):
    other = new_token(rep_a, org_a)

    response = factories.api_client(rep_a, org_a).post(
        "/api/v1/me/password/",
        {"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 204
    assert works(other)
    assert not revocations(org_a)


def test_a_session_revokes_every_token_and_stays_signed_in(rep_a, org_a):
    tokens = [new_token(rep_a, org_a), new_token(rep_a, org_a)]
    this, other = signed_in_client(rep_a), signed_in_client(rep_a)

    response = this.post(
        "/api/v1/me/password/",
        {
            "current_password": factories.PASSWORD,
            "new_password": NEW_PASSWORD,
            "revoke_api_tokens": True,
        },
        content_type="application/json",
    )

    assert response.status_code == 204
    assert not any(works(token) for token in tokens)
    assert this.get("/api/v1/me/").status_code == 200
    assert other.get("/api/v1/me/").status_code in (401, 403)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"current_password": "not-it", "revoke_api_tokens": True}, "current_password"),
        ({"current_password": factories.PASSWORD, "revoke_api_tokens": "yes"}, "revoke_api_tokens"),
    ],
)
def test_a_refused_change_revokes_nothing(rep_a, org_a, body, field):
    other = new_token(rep_a, org_a)

    response = factories.api_client(rep_a, org_a).post(
        "/api/v1/me/password/", {"new_password": NEW_PASSWORD, **body}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert works(other)
    rep_a.refresh_from_db()
    assert rep_a.check_password(factories.PASSWORD)


def test_the_schema_documents_the_choice(rep_a):
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    body = schema["paths"]["/api/v1/me/password/"]["post"]["requestBody"]
    reference = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    field = schema["components"]["schemas"][reference]["properties"]["revoke_api_tokens"]

    assert field["type"] == "boolean" and field["default"] is False
    assert "stolen password" in field["description"]


# --- the back office: one's own password ---------------------------------------------------


def test_the_own_password_page_offers_to_revoke_the_tokens(rep_in_two, org_a, org_b):
    tokens = [new_token(rep_in_two, org_a), new_token(rep_in_two, org_b)]
    client = signed_in_client(rep_in_two)

    page = client.get(OWN_PAGE)
    changed = client.post(
        OWN_PAGE,
        {
            "old_password": factories.PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "revoke_api_tokens": "on",
        },
        follow=True,
    )

    assert b"You have 2 active API tokens" in page.content
    assert page.context["form"]["revoke_api_tokens"].initial is True
    assert b"2 API tokens revoked." in changed.content
    assert not any(works(token) for token in tokens)
    assert client.get("/admin/").status_code == 200


def test_the_own_password_page_keeps_the_tokens_when_unticked(rep_a, org_a):
    token = new_token(rep_a, org_a)

    signed_in_client(rep_a).post(
        OWN_PAGE,
        {
            "old_password": factories.PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    rep_a.refresh_from_db()
    assert rep_a.check_password(NEW_PASSWORD)
    assert works(token)


def test_a_wrong_current_password_revokes_nothing(rep_a, org_a):
    token = new_token(rep_a, org_a)

    page = signed_in_client(rep_a).post(
        OWN_PAGE,
        {
            "old_password": "not-it",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "revoke_api_tokens": "on",
        },
    )

    assert b"current password is not correct" in page.content
    assert works(token)
    assert AuditAction.LOGIN_FAILED in [r.action for r in audit_rows(org_a)]


def test_without_tokens_the_page_offers_nothing_to_revoke(rep_a):
    page = signed_in_client(rep_a).get(OWN_PAGE)

    assert b"revoke_api_tokens" not in page.content


# --- the back office: a platform super admin resets a password -----------------------------


def test_a_reset_revokes_the_tokens_by_default_and_signs_every_device_out(rep_in_two, org_a, org_b):
    tokens = [new_token(rep_in_two, org_a), new_token(rep_in_two, org_b)]
    device = signed_in_client(rep_in_two)
    root = admin_client(factories.UserFactory(is_superuser=True))

    page = root.get(reset_page(rep_in_two))
    reset = root.post(
        reset_page(rep_in_two),
        {
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "revoke_api_tokens": "on",
            "set-password": "",
        },
    )

    assert b"They have 2 active API tokens" in page.content
    assert page.context["form"]["revoke_api_tokens"].initial is True
    assert reset.status_code == 302, reset.content
    rep_in_two.refresh_from_db()
    assert rep_in_two.check_password(NEW_PASSWORD)
    assert not any(works(token) for token in tokens)
    assert device.get("/admin/").status_code == 302
    assert not UserSession.objects.filter(user=rep_in_two, revoked_at__isnull=True).exists()
    assert [r["reason"] for r in revocations(org_a) + revocations(org_b)] == ["password_reset"] * 2
    (event,) = audit_rows(org_a, action=AuditAction.PASSWORD_RESET)
    assert event.target_id == str(rep_in_two.pk) and event.details == {"password_sign_in": True}


def test_a_reset_unticked_keeps_the_tokens(rep_a, org_a):
    token = new_token(rep_a, org_a)
    root = admin_client(factories.UserFactory(is_superuser=True))

    root.post(
        reset_page(rep_a),
        {
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "set-password": "",
        },
    )

    rep_a.refresh_from_db()
    assert rep_a.check_password(NEW_PASSWORD)
    assert works(token)


def test_only_a_platform_admin_resets_another_users_password(rep_a, admin_a, org_a):
    token = new_token(rep_a, org_a)

    page = admin_client(admin_a).post(
        reset_page(rep_a),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "revoke_api_tokens": "on"},
    )
    with pytest.raises(PermissionDenied):
        services.password_reset(
            user=rep_a, new_password=NEW_PASSWORD, revoke_api_tokens=True, acting_user=admin_a
        )

    assert page.status_code == 403
    rep_a.refresh_from_db()
    assert rep_a.check_password(factories.PASSWORD)
    assert works(token)
