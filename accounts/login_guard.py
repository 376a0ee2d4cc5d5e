"""Password logins with lockout, shared by the API token endpoint and the admin login.

After `LOGIN_FAILURE_LIMIT` failed attempts within `LOGIN_LOCKOUT_SECONDS` for one email,
or separately from one IP address, every attempt is refused, even with the right
password, until enough failures have left the window. The counters live in the database
(`LoginAttempt`) so that every worker process sees the same ones. A successful login
clears the email's count; the IP count only ages out, so logging into one's own account
does not reset a password-guessing run from the same address.

Locked attempts are not counted: the lock lifts on time even while an attacker retries.
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.audit import AuditAction, record_audit_event
from accounts.models import LoginAttempt, User
from accounts.tenancy import choose_membership
from smartweb.tenancy.context import tenant_context, user_context


class LoginLocked(Exception):
    """Too many failures for the email or the IP address (`reason`): refuse for
    `retry_after` seconds."""

    def __init__(self, retry_after: int, reason: str):
        super().__init__(f"Login locked ({reason}) for {retry_after} s.")
        self.retry_after = retry_after
        self.reason = reason


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _window() -> dt.timedelta:
    return dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


def _lock_remaining(now, **lookup) -> int | None:
    """Seconds until fewer than the limit of failures matching `lookup` are in the window."""
    limit = settings.LOGIN_FAILURE_LIMIT
    since = now - _window()
    if "email" in lookup:
        last_success = (
            LoginAttempt.objects.filter(success=True, created_at__gt=since, **lookup)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        since = last_success or since
    failures = list(
        LoginAttempt.objects.filter(success=False, created_at__gt=since, **lookup)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(failures) < limit:
        return None
    # The lock lifts when the limit-th most recent failure leaves the window.
    return max(1, math.ceil((failures[-1] + _window() - now).total_seconds()))


def lock_status(email: str, ip: str | None) -> LoginLocked | None:
    now = timezone.now()
    remaining = _lock_remaining(now, email=email)
    if remaining is not None:
        return LoginLocked(remaining, "email")
    if ip:
        remaining = _lock_remaining(now, ip_address=ip)
        if remaining is not None:
            return LoginLocked(remaining, "ip")
    return None


def _record_attempt(email: str, ip: str | None, *, success: bool) -> None:
    now = timezone.now()
    LoginAttempt.objects.filter(created_at__lt=now - _window()).delete()
    LoginAttempt.objects.create(email=email, ip_address=ip, success=success, created_at=now)


def _home_organization_id(user: User, requested: str | None):
    """The organization whose audit log shows this user's login events (None: none)."""
    with user_context(user):
        for candidate in (requested, None):
            try:
                membership = choose_membership(user, candidate)
            except PermissionDenied:
                continue
            return membership.organization_id if membership else None
    return None


def _audit(action: str, *, request, email: str, user: User | None, requested, details) -> None:
    """An event in the user's organization, or with no organization for unknown emails."""
    organization_id = _home_organization_id(user, requested) if user is not None else None
    with tenant_context(organization_id):
        record_audit_event(
            action=action,
            organization_id=organization_id,
            target=user,
            request=request,
            actor_email=email,
            details=details,
        )


def check_credentials(
    request, *, email: str, password: str, organization: str | None = None
) -> User | None:
    """The user for these credentials, or None (a counted, audited failure).

    Raises `LoginLocked` while the email or the client's IP address is locked out.
    `organization` (id or slug) only chooses where the events are audited.
    """
    email = (email or "").strip().lower()
    ip = client_ip(request)
    known = User.objects.filter(email__iexact=email).first()
    locked = lock_status(email, ip)
    if locked is not None:
        _audit(
            AuditAction.LOGIN_LOCKED,
            request=request,
            email=email,
            user=known,
            requested=organization,
            details={"reason": locked.reason, "retry_after": locked.retry_after},
        )
        raise locked
    user = authenticate(request, username=email, password=password)
    if user is None:
        _record_attempt(email, ip, success=False)
        _audit(
            AuditAction.LOGIN_FAILED,
            request=request,
            email=email,
            user=known,
            requested=organization,
            details={"known_user": known is not None},
        )
    return user


def login_succeeded(request, user: User, *, organization_id=None, method: str) -> None:
    """Clear the email's failure count and audit the login (in `organization_id`, or the
    user's default organization)."""
    _record_attempt(user.email, client_ip(request), success=True)
    if organization_id is None:
        organization_id = _home_organization_id(user, None)
    with tenant_context(organization_id, user=user):
        record_audit_event(
            action=AuditAction.LOGIN,
            actor=user,
            organization_id=organization_id,
            request=request,
            details={"method": method},
        )
