"""Signing in through an organization's OpenID Connect provider (a real one, on this
machine): the authorization-code flow with PKCE, linking by verified email or by
invitation, and each refusal with its message and audit row."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import Invitation, Membership, Organization, Role, User
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import audit_rows
from tests.factories import make_member, make_organization
from tests.sso.conftest import links, sso_sign_in


def _refusal(place, reason: str):
    rows = audit_rows(place.organization, action=AuditAction.SSO_REFUSED)
    assert [row.details["reason"] for row in rows] == [reason]
    return rows[0]


def test_a_member_signs_in_and_the_identity_is_linked_with_encrypted_tokens(place):
    client = Client()
    answer = sso_sign_in(client, "acme", "ann@example.test")
    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    assert client.session[SESSION_KEY] == str(place.ann.pk)
    assert client.get("/admin/").status_code == 200
    [link] = links("ann@example.test")
    assert link.access_token_encrypted and link.refresh_token_encrypted
    assert "ey" not in link.access_token_encrypted[:2]  # stored encrypted, not as sent
    assert link.get_access_token()
    assert audit_rows(place.organization, action=AuditAction.SSO_LINKED)[0].actor == place.ann
    [login] = audit_rows(place.organization, action=AuditAction.LOGIN)
    assert login.details == {"method": "sso"} and login.actor == place.ann

    # Signing in again uses the link; the newest refresh token replaces the old one.
    old_refresh = link.refresh_token_encrypted
    assert sso_sign_in(Client(), "acme", "ann@example.test").status_code == 302
    [link] = links("ann@example.test")
    assert link.refresh_token_encrypted != old_refresh
    assert len(audit_rows(place.organization, action=AuditAction.SSO_LINKED)) == 1


def test_a_tampered_state_is_refused(place):
    client = Client()
    answer = sso_sign_in(client, "acme", "ann@example.test", tamper="state")
    assert answer.status_code == 400
    assert "state does not match" in answer.content.decode()
    assert SESSION_KEY not in client.session
    assert links("ann@example.test") == []
    _refusal(place, "state")


def test_a_tampered_nonce_is_refused(place):
    client = Client()
    answer = sso_sign_in(client, "acme", "ann@example.test", tamper="nonce")
    assert answer.status_code == 403
    assert "could not be verified (nonce)" in answer.content.decode()
    assert SESSION_KEY not in client.session
    assert links("ann@example.test") == []
    _refusal(place, "nonce")


def test_an_unverified_email_is_refused(place):
    with tenant_context(place.organization):
        place.ann.email = "unverified@example.test"
        place.ann.save(update_fields=["email"])
    client = Client()
    answer = sso_sign_in(client, "acme", "unverified@example.test")
    assert answer.status_code == 403
    assert "has not verified your email address" in answer.content.decode()
    assert SESSION_KEY not in client.session
    assert links("unverified@example.test") == []
    assert _refusal(place, "unverified_email").actor_email == "unverified@example.test"


def test_parameters_the_provider_adds_to_the_callback_are_let_through(place):
    # Providers add their own (Keycloak its `session_state`): the callback is no API
    # operation, whose undeclared parameters are refused (ADR 0055).
    extra = {"session_state": "5d6e-41f0", "utm_source": "idp"}
    answer = sso_sign_in(Client(), "acme", "ann@example.test", extra=extra)
    assert answer.status_code == 302 and answer["Location"] == "/admin/"


def test_an_unknown_email_without_an_invitation_creates_no_account(place):
    client = Client()
    answer = sso_sign_in(client, "acme", "new@example.test")
    assert answer.status_code == 403
    assert "admin for an invitation" in answer.content.decode()
    assert not User.objects.filter(email="new@example.test").exists()
    _refusal(place, "no_account")


def test_an_unknown_email_with_an_invitation_becomes_a_member(place):
    with tenant_context(place.organization):
        Invitation.objects.create(
            email="new@example.test",
            role=Role.objects.get(slug="sales_rep"),
            key_hash="x" * 64,
            expires_at=timezone.now() + dt.timedelta(days=1),
        )
    client = Client()
    answer = sso_sign_in(client, "acme", "new@example.test")
    assert answer.status_code == 302
    user = User.objects.get(email="new@example.test")
    assert not user.has_usable_password()
    with tenant_context(place.organization):
        assert Membership.objects.filter(user=user, role__slug="sales_rep").exists()
        assert Invitation.objects.get(email="new@example.test").accepted_by == user
    accepted = audit_rows(place.organization, action=AuditAction.INVITATION_ACCEPTED)
    assert accepted[0].details["via"] == "sso"
    assert audit_rows(place.organization, action=AuditAction.SSO_LINKED)[0].actor == user


def test_a_member_of_another_organization_is_not_signed_in_here(place):
    other = Organization.objects.exclude(pk=place.organization.pk).first()
    assert other is None or other.pk != place.organization.pk
    with tenant_context(place.organization):
        Membership.objects.filter(user=place.ann).update(is_active=False)
    answer = sso_sign_in(Client(), "acme", "ann@example.test")
    assert answer.status_code == 403
    _refusal(place, "not_member")


def test_a_disabled_organization_is_refused(place):
    Organization.objects.filter(pk=place.organization.pk).update(is_active=False)
    client = Client()
    answer = client.get("/sso/acme/start/")
    assert answer.status_code == 403
    assert "Acme is deactivated" in answer.content.decode()
    _refusal(place, "organization_inactive")


def test_an_organization_without_a_provider_answers_like_an_unknown_one(place, db):
    from tests.factories import make_organization

    make_organization("Bare", slug="bare")
    for slug in ("bare", "no-such-organization"):
        answer = Client().get(f"/sso/{slug}/start/")
        assert answer.status_code == 404
        assert "Single sign-on is not set up" in answer.content.decode()


def test_refreshing_rotates_the_refresh_token(place):
    from accounts.crypto import decrypt
    from sso import oidc, signin

    assert sso_sign_in(Client(), "acme", "ann@example.test").status_code == 302
    [link] = links("ann@example.test")
    first = decrypt(link.refresh_token_encrypted)
    link = signin.tokens_refresh(link=link, provider=place.provider)
    second = decrypt(link.refresh_token_encrypted)
    assert second and second != first
    assert link.get_access_token()
    # The provider retired the old one.
    try:
        oidc.refreshed(place.provider, first)
    except oidc.SignInFailed as failed:
        assert failed.reason == "refresh"
    else:
        raise AssertionError("the old refresh token still works")


def test_a_provider_session_reaches_its_own_organization_only(place):
    """An organization's provider vouches for its members there, not for the other
    organizations the same account belongs to: its session stays in its organization."""
    elsewhere = make_organization("Beta", slug="beta")
    with tenant_context(elsewhere):
        role = Role.objects.get(slug="org_admin")
        Membership.objects.create(organization=elsewhere, user=place.ann, role=role)
    client = Client()
    assert sso_sign_in(client, "acme", "ann@example.test").status_code == 302

    page = client.get("/admin/").content.decode()
    assert "Acme" in page and "Beta" not in page  # no other organization to switch to
    answer = client.post(
        "/admin/switch-organization/", {"organization": str(elsewhere.pk)}, follow=True
    )
    assert "You cannot switch to that organization." in answer.content.decode()
    assert client.get("/api/v1/me/").json()["organization"]["id"] == str(place.organization.pk)
    answer = client.get("/api/v1/leads/", HTTP_X_ORGANIZATION=str(elsewhere.pk))
    assert answer.status_code == 403
    assert "reaches that organization only" in answer.json()["error"]["message"]

    # A password sign-in of the same account reaches both, as before.
    password = Client()
    password.force_login(place.ann)
    answer = password.get("/api/v1/leads/", HTTP_X_ORGANIZATION=str(elsewhere.pk))
    assert answer.status_code == 200


def test_a_provider_session_of_a_super_admin_does_not_reach_the_job_queue(place):
    """The job queue holds every organization's jobs: a super admin signed in through an
    organization's provider works in that organization, not on the platform's pages."""
    root = make_member(place.organization, "org_admin", email="new@example.test", is_superuser=True)
    jobs = "/admin/procrastinate/procrastinatejob/"
    client = Client()
    assert sso_sign_in(client, "acme", root.email).status_code == 302
    assert client.get(jobs).status_code == 403
    assert jobs not in client.get("/admin/").content.decode()

    password = Client()
    password.force_login(root)
    assert password.get(jobs).status_code == 200
    assert jobs in password.get("/admin/").content.decode()
