"""Unlinking an identity of one's own (its audit row in each organization the user is an
active member of: the log is per organization)."""

from __future__ import annotations

from django.db import transaction

from accounts.audit import AuditAction, record_audit_event
from accounts.models import OAuthAccount, User
from accounts.tenancy import user_memberships
from smartweb.tenancy.context import tenant_context, user_context


@transaction.atomic
def unlink(*, link: OAuthAccount, acting_user: User, request=None) -> None:
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
            record_audit_event(
                action=AuditAction.SSO_UNLINKED,
                actor=acting_user,
                organization_id=organization_id,
                request=request,
                details=details,
            )
