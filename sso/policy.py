"""Who must sign in through their organization's identity provider.

A member is covered by an organization's provider when it is active, requires single
sign-on, and names the member's email (domain or list). Read in each organization's
context: providers are tenant rows.
"""

from __future__ import annotations

import uuid

from accounts.models import User
from accounts.tenancy import user_memberships
from smartweb.tenancy.context import tenant_context, user_context
from sso.models import IdentityProvider


def provider_of(organization_id) -> IdentityProvider | None:
    """The organization's active provider (in the caller's context or its own)."""
    with tenant_context(organization_id):
        return IdentityProvider.objects.filter(is_active=True).first()


def requiring_organizations(user: User) -> set[uuid.UUID]:
    """The organizations (of the user's active memberships) that require `user` to sign
    in through their provider."""
    with user_context(user):
        organization_ids = list(
            user_memberships(user).filter(is_active=True).values_list("organization_id", flat=True)
        )
    required = set()
    for organization_id in organization_ids:
        provider = provider_of(organization_id)
        if provider is not None and provider.sso_required and provider.covers(user.email):
            required.add(organization_id)
    return required


REFUSAL = (
    "Your organization requires sign-in through its identity provider: use "
    '"Sign in with your identity provider" on the sign-in page.'
)


def audit_password_refused(request, user: User, organization_ids, *, method: str) -> None:
    """A right password refused because single sign-on is required: in the log of each
    organization that requires it."""
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
