"""Password logins with lockout, shared by the API token endpoint and the admin login.

Failed attempts within `LOGIN_LOCKOUT_SECONDS` are counted three ways, by the client's
address as `smartweb.origin.client_network` reads it (through the trusted proxies; an
IPv6 client by its /64 network, which it may send from any address of):

- per address and account: `LOGIN_FAILURE_LIMIT` failures for one email from one
  address lock that email from that address;
- per address: `LOGIN_ADDRESS_FAILURE_LIMIT` failures from one address, whatever the
  emails, lock that address (a run of guesses over many accounts);
- per account: `LOGIN_ACCOUNT_FAILURE_LIMIT` failures for one email, from any addresses,
  lock that email, but only from addresses that are not its usual ones (where it signed
  in within `LOGIN_USUAL_ADDRESS_DAYS`): an attacker elsewhere, even spread over many
  addresses, cannot lock the owner out of their office or home.

A locked attempt is refused even with the right password. A successful login clears the
counts that involve its email (failures before it are not counted); the address count
only ages out, so logging into one's own account does not reset a guessing run from the
same address. The counters live in the database (`LoginAttempt`) so that every worker
process sees the same ones; successes are kept as long as they make an address usual.

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
from smartweb.origin import client_network
from smartweb.tenancy.context import tenant_context, user_context
from smartweb.tenancy.durable import durable


class LockReason:
    ADDRESS_AND_ACCOUNT = "address_and_account"
    ADDRESS = "address"
    ACCOUNT = "account"


class LoginLocked(Exception):
    """Too many failures (`reason`, a `LockReason`): refuse for `retry_after` seconds."""

    def __init__(self, retry_after: int, reason: str):
        super().__init__(f"Login locked ({reason}) for {retry_after} s.")
        self.retry_after = retry_after
        self.reason = reason


def _window() -> dt.timedelta:
    return dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


def _usual_window() -> dt.timedelta:
    return dt.timedelta(days=settings.LOGIN_USUAL_ADDRESS_DAYS)


def _lock_remaining(now, limit: int, **lookup) -> int | None:
    """Seconds until fewer than `limit` failures matching `lookup` are in the window."""
    since = now - _window()
    if "email" in lookup:
        last_success = (
            LoginAttempt.objects.filter(success=True, created_at__gt=since, email=lookup["email"])
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


def is_usual_address(email: str, ip: str | None, now=None) -> bool:
    """Whether `email` signed in from `ip` within `LOGIN_USUAL_ADDRESS_DAYS`."""
    now = now or timezone.now()
    return bool(ip) and (
        LoginAttempt.objects.filter(
            email=email, ip_address=ip, success=True, created_at__gt=now - _usual_window()
        ).exists()
    )


def lock_status(email: str, ip: str | None) -> LoginLocked | None:
    now = timezone.now()
    checks = []
    if ip:
        checks += [
            (LockReason.ADDRESS_AND_ACCOUNT, settings.LOGIN_FAILURE_LIMIT, {"ip_address": ip}),
            (LockReason.ADDRESS, settings.LOGIN_ADDRESS_FAILURE_LIMIT, {"ip_address": ip}),
        ]
    if not is_usual_address(email, ip, now):
        checks.append((LockReason.ACCOUNT, settings.LOGIN_ACCOUNT_FAILURE_LIMIT, {}))
    for reason, limit, lookup in checks:
        if reason != LockReason.ADDRESS:
            lookup = {**lookup, "email": email}
        remaining = _lock_remaining(now, limit, **lookup)
        if remaining is not None:
            return LoginLocked(remaining, reason)
    return None


def record_attempt(email: str, ip: str | None, *, success: bool) -> None:
    now = timezone.now()
    LoginAttempt.objects.filter(success=False, created_at__lt=now - _window()).delete()
    LoginAttempt.objects.filter(success=True, created_at__lt=now - _usual_window()).delete()
    LoginAttempt.objects.create(email=email, ip_address=ip, success=success, created_at=now)


def home_organization_id(user: User, requested: str | None):
    """The organization whose audit log shows this user's login events (None: none)."""
    with user_context(user):
        for candidate in (requested, None):
            try:
                membership = choose_membership(user, candidate)
            except PermissionDenied:
                continue
            return membership.organization_id if membership else None
    return None


@durable
def audit_login_event(
    action: str, *, request, email: str, user: User | None, requested, details
) -> None:
    """An event in the user's organization, or with no organization for unknown emails."""
    organization_id = home_organization_id(user, requested) if user is not None else None
    with tenant_context(organization_id):
        record_audit_event(
            action=action,
            organization_id=organization_id,
            target=user,
            request=request,
            actor_email=email,
            details=details,
        )


def refuse_if_locked(
    request, *, email: str, user: User | None, requested=None, details: dict | None = None
) -> None:
    """Raise (and audit) `LoginLocked` while the email, the address or the pair is
    locked: for a password and for a second factor's code alike."""
    locked = lock_status(email, client_network(request))
    if locked is not None:
        audit_login_event(
            AuditAction.LOGIN_LOCKED,
            request=request,
            email=email,
            user=user,
            requested=requested,
            details={"reason": locked.reason, "retry_after": locked.retry_after, **(details or {})},
        )
        raise locked


@durable
def count_failure(request, *, email: str, user: User | None, requested=None, details: dict) -> None:
    """A failed password or code: counted towards the locks, and audited. Durable: kept
    however the request that failed ends."""
    record_attempt(email, client_network(request), success=False)
    audit_login_event(
        AuditAction.LOGIN_FAILED,
        request=request,
        email=email,
        user=user,
        requested=requested,
        details=details,
    )


def check_credentials(
    request, *, email: str, password: str, organization: str | None = None
) -> User | None:
    """The user for these credentials, or None (a counted, audited failure).

    Raises `LoginLocked` while the email, the client's address, or the pair is locked.
    `organization` (id or slug) only chooses where the events are audited.
    """
    email = (email or "").strip().lower()
    known = User.objects.filter(email__iexact=email).first()
    refuse_if_locked(request, email=email, user=known, requested=organization)
    user = authenticate(request, username=email, password=password)
    if user is None:
        count_failure(
            request,
            email=email,
            user=known,
            requested=organization,
            details={"known_user": known is not None},
        )
    return user


def login_succeeded(request, user: User, *, organization_id=None, method: str) -> None:
    """Clear the email's failure counts, make the address one of its usual ones, and audit
    the login (in `organization_id`, or the user's default organization)."""
    record_attempt(user.email.lower(), client_network(request), success=True)
    if organization_id is None:
        organization_id = home_organization_id(user, None)
    with tenant_context(organization_id, user=user):
        record_audit_event(
            action=AuditAction.LOGIN,
            actor=user,
            organization_id=organization_id,
            request=request,
            details={"method": method},
        )
