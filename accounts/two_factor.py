"""Two-factor authentication: TOTP (an authenticator app) with recovery codes.

Devices are django-otp's: a confirmed TOTP device (`SealedTOTPDevice`, whose seed is
encrypted at rest in `TOTPSecret`) and a static device (`RecoveryCodes`) holding the
digests of the single-use recovery codes. A user who has a confirmed device is asked for
a code at every password sign-in (admin and API token); an organization can require it
of all its members or of its admins (`settings.two_factor`: "off", "admins", "all"), and
a member it applies to who has no device yet enrols before being signed in. Wrong codes
count as failed logins (the lockout of `login_guard`) and are audited; a TOTP code is
accepted once (django-otp keeps the last time step used), a recovery code is deleted
when used.

An authenticator in use is replaced (a new phone, or a lost one) on proof of a code of it
or of a recovery code (used up): the new one is pending, the old one in force, until a
code of the new one confirms it; the user's other devices are then signed out, and the
replacement is audited and the user emailed.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from accounts import crypto, login_guard, security_notices
from accounts.audit import AuditAction, record_audit_event
from accounts.device_sessions import current_session_key, sign_out_other_devices
from accounts.models import (
    APIToken,
    Membership,
    RecoveryCodes,
    SealedTOTPDevice,
    TOTPSecret,
    User,
    recovery_code_digest,
)
from accounts.tenancy import user_memberships
from smartweb.rbac import ADMIN_ROLE_SLUGS
from smartweb.tenancy.context import tenant_context, user_context

RECOVERY_CODES = 10
RECOVERY_CODE_BYTES = 10  # 80 bits, 16 characters (django-otp's own codes have 40)
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def _policy(organization) -> str:
    return (organization.settings or {}).get("two_factor", "off")


def membership_requires(membership: Membership) -> bool:
    """Does the membership's organization require a second factor of this member? Read
    in that organization's context (the member's role)."""
    policy = _policy(membership.organization)
    return policy == "all" or (policy == "admins" and membership.role.slug in ADMIN_ROLE_SLUGS)


def token_lacks_second_factor(token: APIToken) -> bool:
    """Is `token` refused for want of a second factor: created without one, while its
    organization (the current context) requires one of its user? As a back-office
    session opened before the requirement must sign in again, a token made before it
    (or by a password alone) must be replaced by one made with a code."""
    if token.second_factor_at is not None:
        return False
    policy = _policy(token.organization)
    if policy != "admins":
        return policy == "all"
    membership = getattr(token, "membership", None)  # set by the token's authentication
    if membership is not None:
        return membership.role.slug in ADMIN_ROLE_SLUGS
    return Membership.objects.filter(
        user_id=token.user_id, role__slug__in=ADMIN_ROLE_SLUGS
    ).exists()


def required_for(user: User) -> bool:
    """Must `user` sign in with a second factor: does any organization it is an active
    member of require one of it (at sign-in, before one is chosen)?"""
    with user_context(user):
        memberships = list(user_memberships(user).filter(is_active=True))
    for membership in memberships:
        if _policy(membership.organization) == "all":
            return True
        if _policy(membership.organization) == "admins":
            with tenant_context(membership.organization_id):
                if Membership.objects.filter(user=user, role__slug__in=ADMIN_ROLE_SLUGS).exists():
                    return True
    return False


def _authenticators():
    return SealedTOTPDevice.objects.select_related("sealed")


def totp_device(user: User) -> SealedTOTPDevice | None:
    return _authenticators().filter(user=user, confirmed=True).first()


def is_enrolled(user: User) -> bool:
    return totp_device(user) is not None


def needed_at_sign_in(user: User) -> bool:
    return is_enrolled(user) or required_for(user)


def _normalized(code: str | None) -> str:
    """A code as typed: spaces (an app may show "123 456") removed."""
    return "".join((code or "").split())


def verify(request, user: User, code: str, *, method: str | None = None):
    """The device that accepts `code` (TOTP or a recovery code), or None: a counted,
    audited failure (`method`: what the code was for, when not a sign-in). Raises
    `login_guard.LoginLocked` while the sign-in is locked."""
    email = user.email.lower()
    details = {"factor": "otp", **({"method": method} if method else {})}
    login_guard.refuse_if_locked(request, email=email, user=user, details=details)
    code = _normalized(code)
    with transaction.atomic():
        # Under the devices' row locks: the same code sent twice at once is checked the
        # second time against what the first did (its time step used, its recovery code
        # gone), so it is accepted once.
        devices = [
            _authenticators().select_for_update(of=("self",)).filter(user=user, confirmed=True),
            RecoveryCodes.objects.select_for_update().filter(user=user),
        ]
        for device in (found.first() for found in devices):
            if device is not None and code and device.verify_token(code):
                return device
    login_guard.count_failure(request, email=email, user=user, details=details)
    return None


@transaction.atomic
def start_enrolment(user: User) -> SealedTOTPDevice:
    """An unconfirmed authenticator for `user` (replacing an earlier unconfirmed one), its
    new seed sealed and its plain key column left empty. A confirmed one stays in force."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = SealedTOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False, key="")
    seed = crypto.encrypt(default_key())
    device.sealed = TOTPSecret.objects.create(device=device, sealed_key=seed)
    return device


def pending_enrolment(user: User) -> SealedTOTPDevice | None:
    return _authenticators().filter(user=user, confirmed=False).first()


@transaction.atomic
def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Confirm the pending authenticator with a code from it; returns the new recovery
    codes (shown once), or None when the code is wrong."""
    device = (
        _authenticators().select_for_update(of=("self",)).filter(user=user, confirmed=False).first()
    )
    if device is None or not device.verify_token(_normalized(code)):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return new_recovery_codes(user)


class Proof:
    """What proved a replacement of the authenticator in use (audited; never the code)."""

    AUTHENTICATOR = "authenticator"
    RECOVERY_CODE = "recovery_code"


REPLACEMENT_METHOD = "two_factor_replacement"


@dataclass(frozen=True)
class Replacement:
    """A new authenticator pending confirmation, and what proved the right to it."""

    device: SealedTOTPDevice
    proof: str


@transaction.atomic
def start_replacement(request, user: User, code: str) -> Replacement | None:
    """A pending authenticator to replace the one in use, on proof of `code`: a code of
    that authenticator or an unused recovery code, which is used up under the devices'
    row locks (`verify`), so it proves one replacement even when sent twice at once. None:
    a wrong or used code, counted and audited as a failed login. Raises
    `login_guard.LoginLocked` while the sign-in is locked."""
    device = verify(request, user, code, method=REPLACEMENT_METHOD)
    if device is None:
        return None
    proof = Proof.RECOVERY_CODE if isinstance(device, StaticDevice) else Proof.AUTHENTICATOR
    return Replacement(device=start_enrolment(user), proof=proof)


@transaction.atomic
def confirm_replacement(request, user: User, code: str, *, proof: str) -> list[str] | None:
    """`confirm_enrolment` of a replacement started with `proof`. The user's other devices
    are signed out, the request's session stays: whoever signed in with the old
    authenticator or a recovery code (a stolen phone, a copied code) is out with it, as a
    new password signs them out. Audited (with how many devices were signed out), and the
    user told by email, so that a replacement they did not make does not go unnoticed."""
    codes = confirm_enrolment(user, code)
    if codes is not None:
        signed_out = sign_out_other_devices(user, keep_session_key=current_session_key(request))
        record_audit_event(
            action=AuditAction.TWO_FACTOR_REPLACED,
            actor=user,
            target=user,
            request=request,
            details={"proof": proof, "signed_out_sessions": signed_out},
        )
        security_notices.authenticator_replaced(user, proof=proof)
    return codes


@transaction.atomic
def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes; each works once."""
    StaticDevice.objects.filter(user=user).delete()
    device = RecoveryCodes.objects.create(user=user, name=RECOVERY_NAME)
    codes = [
        base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()
        for _ in range(RECOVERY_CODES)
    ]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery_code_digest(code)) for code in codes
    )
    return codes


def remaining_recovery_codes(user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


@transaction.atomic
def remove(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
