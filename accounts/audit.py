"""Writing the security audit log (append-only for the runtime role)."""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import AuditLog
from smartweb.origin import client_ip, current_origin, user_agent
from smartweb.tenancy.context import acting_user, current_organization_id


class AuditAction(models.TextChoices):
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGIN_LOCKED = "auth.login_locked"
    LOGOUT = "auth.logout"
    TOKEN_CREATED = "token.created"  # noqa: S105  (an event name, not a secret)
    TOKEN_REVOKED = "token.revoked"  # noqa: S105  (an event name, not a secret)
    SESSION_REVOKED = "session.revoked"
    # Single sign-on (sso): a sign-in is LOGIN with method "sso".
    SSO_LINKED = "sso.linked"
    SSO_UNLINKED = "sso.unlinked"
    SSO_REFUSED = "sso.refused"
    SSO_SESSION_ENDED = "sso.session_ended"
    SSO_PROVIDER_CHANGED = "sso.provider_changed"
    USER_CHANGED = "user.changed"
    TEAM_CREATED = "team.created"
    TEAM_CHANGED = "team.changed"
    TEAM_DELETED = "team.deleted"
    ROLE_CREATED = "role.created"
    ROLE_CHANGED = "role.changed"
    ROLE_DELETED = "role.deleted"
    PERMISSIONS_CHANGED = "role.permissions_changed"
    MEMBERSHIP_CREATED = "membership.created"
    MEMBERSHIP_CHANGED = "membership.changed"
    MEMBERSHIP_DELETED = "membership.deleted"
    INVITATION_CREATED = "invitation.created"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_ACCEPTED = "invitation.accepted"
    PASSWORD_CHANGED = "user.password_changed"  # noqa: S105  (an event name, not a secret)
    # Set by a platform super admin, without the current one.
    PASSWORD_RESET = "user.password_reset"  # noqa: S105  (an event name, not a secret)
    TWO_FACTOR_REPLACED = "two_factor.replaced"
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_CHANGED = "organization.changed"
    ORGANIZATION_IMPORTED = "organization.imported"  # from another database (smartweb.orgmove)
    OBJECT_GRANTED = "object.granted"  # a record shared with a colleague (sharing)
    OBJECT_REVOKED = "object.revoked"
    CROSS_ORGANIZATION_ACCESS = "platform.cross_organization_access"
    EXPORT = "data.export"
    ERASURE = "data.erasure"


def record_audit_event(
    *,
    action: str,
    actor: Any = None,
    organization_id: Any = None,
    target: Any = None,
    request: Any = None,
    details: dict | None = None,
    actor_email: str = "",
) -> AuditLog:
    """Append one event. Defaults: the acting user and the current organization; the
    client's address and user agent from `request`, else from the current origin."""
    actor = actor if actor is not None else acting_user()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    origin = current_origin()
    return AuditLog.objects.create(
        organization_id=organization_id
        if organization_id is not None
        else current_organization_id(),
        actor=actor,
        actor_email=actor_email or (actor.email if actor else ""),
        action=action,
        # `target._meta`, not `type(target)._meta`: a session's user is a lazy wrapper.
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        ip_address=client_ip(request) if request is not None else origin.ip_address,
        user_agent=user_agent(request) if request is not None else origin.user_agent,
        request_id=origin.request_id,
        details=details or {},
    )
