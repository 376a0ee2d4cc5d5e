"""Whom an identity provider's answer signs in, and the link kept for it.

An identity already linked (`OAuthAccount`: issuer and subject) signs in its user. An
unlinked one links only by an email the provider says it verified, within the
provider's email domains, to an account that is a member of the organization, or that
the organization invited (the invitation is accepted, the account created if new).
Anything else is refused and nothing is written but the audit row, which is kept
whatever the refusal's status (smartweb.tenancy.durable).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts import invitations
from accounts.audit import AuditAction, record_audit_event
from accounts.crypto import decrypt
from accounts.models import Membership, OAuthAccount, Organization, User
from smartweb.locks import advisory_xact_lock
from smartweb.tenancy.context import tenant_context
from smartweb.tenancy.durable import durable
from sso import oidc
from sso.models import IdentityProvider
from sso.oidc import SignInFailed

NO_ACCOUNT = (
    "No account here uses this email. Ask your organization's admin for an invitation, "
    "then sign in again."
)


def _verified_email(claims) -> str:
    email = (claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is not True:
        raise SignInFailed(
            "unverified_email",
            "Your identity provider has not verified your email address: verify it there, "
            "then sign in again.",
        )
    return email


def _is_member(user: User, organization: Organization) -> bool:
    with tenant_context(organization.pk):
        return Membership.objects.filter(user=user, is_active=True).exists()


def _account_by_email(email: str, provider: IdentityProvider, organization, request) -> User:
    if not provider.may_link(email):
        raise SignInFailed(
            "email_domain", f"{email} is not an email of {organization.name}'s domains."
        )
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and _is_member(user, organization):
        return user
    invitation = invitations.pending_invitation(organization_id=organization.pk, email=email)
    if invitation is None:
        raise SignInFailed("no_account" if user is None else "not_member", NO_ACCOUNT)
    return invitations.invitation_accept_verified(
        invitation=invitation, request=request, via="sso"
    ).user


def _store_tokens(link: OAuthAccount, token: dict) -> None:
    """The newest tokens replace the old ones: a provider that rotates refresh tokens
    invalidates the previous one as it issues the next."""
    refresh = token.get("refresh_token") or ""
    if not refresh and link.refresh_token_encrypted:
        refresh = decrypt(link.refresh_token_encrypted)
    link.set_tokens(access=token.get("access_token", ""), refresh=refresh)
    expires_in = token.get("expires_in")
    link.token_expires_at = (
        timezone.now() + dt.timedelta(seconds=int(expires_in)) if expires_in else None
    )


@transaction.atomic
def account_for(
    *, provider: IdentityProvider, organization: Organization, token: dict, request
) -> User:
    """The user the provider's checked answer signs in (linking it on first use).
    Raises SignInFailed."""
    claims = token["userinfo"]
    key = provider.account_key(claims["iss"])
    # One sign-in of an identity at a time: of two first sign-ins at once (two tabs, a
    # double click), the later waits for the first to link the identity (and, invited,
    # create the account), then signs in through that link. Without it, both found no
    # link: the later failed on the link's unique key or found the invitation used up.
    advisory_xact_lock("sso identity", key, claims["sub"])
    link = (
        OAuthAccount.objects.select_for_update()
        .select_related("user")
        .filter(provider=key, provider_account_id=claims["sub"])
        .first()
    )
    if link is not None:
        user = link.user
        if not _is_member(user, organization):
            raise SignInFailed("not_member", NO_ACCOUNT)
    else:
        email = _verified_email(claims)
        user = _account_by_email(email, provider, organization, request)
        link = OAuthAccount(user=user, provider=key, provider_account_id=claims["sub"])
    if not user.is_active:
        raise SignInFailed("inactive", "This account is deactivated.")
    linking = link._state.adding
    _store_tokens(link, token)
    link.save()
    if linking:
        with tenant_context(organization.pk, user=user):
            record_audit_event(
                action=AuditAction.SSO_LINKED,
                actor=user,
                organization_id=organization.pk,
                target=link,
                request=request,
                details={"provider": provider.name, "issuer": claims["iss"]},
            )
    return user


@transaction.atomic
def tokens_refresh(*, link: OAuthAccount, provider: IdentityProvider) -> OAuthAccount:
    """Renew the link's provider tokens with its refresh token; the rotated refresh token
    replaces the old one (the row locked, so two refreshes never both use the old one)."""
    link = OAuthAccount.objects.select_for_update().get(pk=link.pk)
    token = oidc.refreshed(provider, decrypt(link.refresh_token_encrypted))
    _store_tokens(link, token)
    link.save(update_fields=[*link.encrypted_fields, "token_expires_at", "updated_at"])
    return link


@durable
def audit_refusal(request, *, organization_id, reason: str, email: str = "", provider=None) -> None:
    """A refused SSO step, in the organization's log (none: an unknown organization).
    Durable: kept when the refusal is a server error (the provider unreachable, a 502)
    and the request's other writes are rolled back."""
    with tenant_context(organization_id):
        record_audit_event(
            action=AuditAction.SSO_REFUSED,
            organization_id=organization_id,
            request=request,
            actor_email=email,
            details={"reason": reason, **({"provider": provider.name} if provider else {})},
        )
