"""Who must sign in through their organization's identity provider.

A member is covered by an organization's provider when it is active, requires single
sign-on, and names the member's email (domain or list). Read in each organization's
context: providers are tenant rows.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection
from django.utils import timezone

from accounts import two_factor
from accounts.models import APIToken, User
from smartweb.tenancy.context import tenant_context
from smartweb.tenancy.durable import durable
from sso.models import IdentityProvider, covers_email


def provider_of(organization_id) -> IdentityProvider | None:
    """The organization's active provider (in the caller's context or its own)."""
    with tenant_context(organization_id):
        return IdentityProvider.objects.filter(is_active=True).first()


def requiring_organizations(user: User) -> set[uuid.UUID]:
    """The organizations (of the user's active memberships) that require `user` to sign
    in through their provider. Asked on every request of a session (sso.middleware): one
    statement across the user's organizations (`smartweb_sso_requirements`, migration
    sso 0003) instead of a transaction per organization."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT organization_id, email_domains, required_emails"
            " FROM smartweb_sso_requirements(%s)",
            [user.pk],
        )
        rows = cursor.fetchall()
    return {
        organization_id
        for organization_id, domains, emails in rows
        if covers_email(user.email, domains, emails)
    }


REFUSAL = (
    "Your organization requires sign-in through its identity provider: use "
    '"Sign in with your identity provider" on the sign-in page.'
)


@durable
def audit_password_refused(request, user: User, organization_ids, *, method: str) -> None:
    """A right password refused because single sign-on is required: in the log of each
    organization that requires it (durable: kept whatever else the request keeps)."""
    from accounts.audit import AuditAction, record_audit_event

    for organization_id in sorted(organization_ids, key=str):
        with tenant_context(organization_id):
            record_audit_event(
                action=AuditAction.SSO_REFUSED,
                organization_id=organization_id,
                target=user,
                request=request,
                actor_email=user.email,
                details={"reason": "sso_required", "method": method},
            )


# API tokens (ADR 0033): a token is its organization's credential, so only the token's own
# organization's requirement applies to it.

CREDENTIAL_REFUSAL = (
    "Your organization requires sign-in through its identity provider, and this token was "
    "not created through it: sign in with the provider in the back office, then create a "
    "token with POST /api/v1/auth/sso-token/."
)
# A client retrying a refused token writes one audit row an hour, not one per request.
TOKEN_REFUSAL_AUDIT_INTERVAL = dt.timedelta(hours=1)


def token_needs_sso(token: APIToken, provider: IdentityProvider | None) -> bool:
    """Is `token` refused by `provider`, its organization's (None: it has none)? Its
    user is covered by a required provider, and the token was not authorized by it."""
    return (
        provider is not None
        and provider.is_active
        and provider.sso_required
        and token.sso_authorized_at is None
        and provider.covers(token.user.email)
    )


TOKEN_STATUS_LABELS = {
    "active": "Active",
    "needs_sso": "Needs single sign-on",
    "needs_second_factor": "Needs two-factor authentication",
    "expired": "Expired",
    "revoked": "Revoked",
}


def token_status(token: APIToken, provider: IdentityProvider | None) -> str:
    """One of TOKEN_STATUS_LABELS: why a token is refused, or "active"."""
    if token.revoked_at is not None:
        return "revoked"
    if not token.is_usable:
        return "expired"
    if token_needs_sso(token, provider):
        return "needs_sso"
    return "needs_second_factor" if two_factor.token_lacks_second_factor(token) else "active"


def tokens_needing_sso(provider: IdentityProvider) -> list[APIToken]:
    """The tokens of `provider`'s organization (its context) it now refuses, revoked and
    expired ones aside."""
    if not (provider.is_active and provider.sso_required):
        return []
    tokens = (
        APIToken.objects.filter(organization_id=provider.organization_id, revoked_at__isnull=True)
        .exclude(expires_at__lte=timezone.now())
        .select_related("user")
    )
    return [token for token in tokens if token_needs_sso(token, provider)]


@durable
def audit_token_refused(request, token: APIToken) -> None:
    """In the token's organization's log (its context), at most once an hour per token:
    the row is written by whichever request moves `sso_refused_at` on. Durable: the
    refused request's own writes are rolled back, not this."""
    from accounts.audit import AuditAction, record_audit_event

    now = timezone.now()
    claimed = (
        APIToken.objects.filter(pk=token.pk, organization_id=token.organization_id)
        .exclude(sso_refused_at__gt=now - TOKEN_REFUSAL_AUDIT_INTERVAL)
        .update(sso_refused_at=now)
    )
    if claimed:
        record_audit_event(
            action=AuditAction.SSO_REFUSED,
            organization_id=token.organization_id,
            actor=token.user,
            target=token,
            request=request,
            details={"reason": "sso_required", "method": "api_token_use"},
        )
