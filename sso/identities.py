"""Unlinking an identity of one's own (its audit row in each organization the user is an
active member of: the log is per organization).

An identity that is unlinked no longer vouches for anything it vouched for: the user's
API tokens created through single sign-on lose that standing in every organization the
user is a member of (ADR 0033), so where the provider is required they are refused until
the user signs in through it again and creates new ones. A token records when it was
vouched for, not through which identity, so all of the user's are withdrawn: with one
identity, exactly those it vouched for; with several, more than that, never fewer.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, record_audit_event
from accounts.models import APIToken, OAuthAccount, User
from accounts.tenancy import user_memberships
from smartweb.tenancy.context import tenant_context, user_context


@transaction.atomic
def unlink(*, link: OAuthAccount, acting_user: User, request=None) -> None:
    """Unlink an identity of `acting_user`'s own, as the API lists them: another's is not
    theirs to unlink (nor are the tokens it vouched for theirs to withdraw)."""
    if link.user_id != acting_user.pk:
        raise PermissionDenied("Only your own identities are yours to unlink.")
    with user_context(acting_user):
        organization_ids = list(
            user_memberships(acting_user)
            .filter(is_active=True)
            .values_list("organization_id", flat=True)
        )
    details = {"provider": link.provider, "identity": str(link.pk)}
    link.delete()
    for organization_id in organization_ids:
        with tenant_context(organization_id, user=acting_user):
            withdrawn = APIToken.objects.filter(
                user=acting_user, sso_authorized_at__isnull=False, revoked_at__isnull=True
            ).update(sso_authorized_at=None, updated_at=timezone.now())
            record_audit_event(
                action=AuditAction.SSO_UNLINKED,
                actor=acting_user,
                organization_id=organization_id,
                request=request,
                details={**details, "tokens_withdrawn": withdrawn},
            )
