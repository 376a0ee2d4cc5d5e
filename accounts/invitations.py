"""Joining an organization by invitation (ADR 0011).

Users are global: an organization admin never creates or pulls in an account. They
invite an email; the person accepts with the emailed link, and only then becomes a
member. A new email creates its account on accepting (setting its own name and password);
an existing account must be signed in as itself. The answer to the admin is the same
whether or not the email has an account.

The link's token is signed (`django.core.signing`, so a forged or altered token is
refused before any look-up) and names the organization, so that accepting can enter that
organization's context before reading the invitation (a tenant row under RLS). Only a
SHA-256 of its secret is stored: the invitation is single-use, revocable and expiring.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.audit import AuditAction, record_audit_event
from accounts.models import (
    Invitation,
    InvitationStatus,
    Membership,
    Organization,
    Role,
    Team,
    User,
    hash_token,
)
from accounts.services import (
    ensure_role_grantable,
    grants_beyond,
    may_place_in_team,
    placeable_teams,
    role_grant_maps,
)
from smartweb import access
from smartweb.locks import advisory_xact_lock
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import current_organization_id, tenant_context
from smartweb.writes import locked

SALT = "accounts.invitation"
DEFAULT_DAYS = 7
# A team places its member where its team scope reads (`placeable_teams`).
NOT_PLACEABLE = "You may not invite a member into that team: you may place members in your own."
NOT_REVOKED_ABOVE = "This invitation's role grants more than yours: you cannot revoke it."


class InvalidInvitation(ValidationError):
    """Unknown, altered, expired, used or revoked: the same answer for each."""

    def __init__(self):
        super().__init__(
            {"token": "This invitation link is invalid or has expired; ask for a new one."},
        )


def lifetime() -> dt.timedelta:
    return dt.timedelta(days=getattr(settings, "INVITATION_DAYS", DEFAULT_DAYS))


def link_for(request) -> Callable[[str], str]:
    """How a request builds the absolute URL of an invitation's page, for the email."""
    return lambda token: request.build_absolute_uri(reverse("invitation-accept", args=[token]))


def _token(invitation: Invitation, secret: str) -> str:
    payload = {"o": invitation.organization_id.hex, "i": invitation.pk.hex, "s": secret}
    return signing.dumps(payload, salt=SALT)


def invitation_check(*, email: str, role: Role, team: Team | None, acting_user: User | None) -> str:
    """Refuse an invitation that would be invalid; the normalized email (forms call
    this). Whether the email has an account is never part of the answer."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    organization_id = current_organization_id()
    for row in (role, team):
        if row is not None and row.organization_id != organization_id:
            raise ValidationError(f"{row} does not belong to this organization.")
    ensure_role_grantable(role, acting_user)
    placeable = placeable_teams(acting_user, Action.CREATE)
    if team is not None and not placeable.filter(pk=team.pk).exists():
        raise ValidationError({"team": NOT_PLACEABLE})
    if Membership.objects.filter(user__email__iexact=email).exists():
        raise ValidationError({"email": "This person is a member of the organization already."})
    return email


@transaction.atomic
def invitation_create(
    *,
    email: str,
    role: Role,
    team: Team | None = None,
    acting_user: User | None,
    link: Callable[[str], str],
    request=None,
) -> Invitation:
    """Invite `email` to the current organization and send them the link (`link(token)`
    is its absolute URL). An open invitation of the same email is replaced. Whoever may
    invite (users:create) sends it, as the API and the admin ask."""
    access.require(acting_user, Action.CREATE, Resource.USERS)
    email = invitation_check(email=email, role=role, team=team, acting_user=acting_user)
    # One invitation of an email at a time: several sent at once each revoked the open
    # one they saw, then inserted theirs, and collided on the unique index with one
    # another's (a 409 "duplicate"). Each now waits for the one before and replaces it.
    advisory_xact_lock("invitation", current_organization_id(), email.lower())
    now = timezone.now()
    Invitation.objects.filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now, updated_at=now)
    secret = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email,
        role=role,
        team=team,
        invited_by=acting_user,
        key_hash=hash_token(secret),
        expires_at=now + lifetime(),
    )
    organization = Organization.objects.get(pk=invitation.organization_id)
    url = link(_token(invitation, secret))
    inviter = acting_user.get_full_name() if acting_user else organization.name
    transaction.on_commit(
        lambda: send_mail(
            subject=f"You are invited to {organization.name} on SmartWeb CRM",
            message=(
                f"{inviter} invites you to join {organization.name} on SmartWeb CRM "
                f"as {role.name}.\n\nAccept the invitation: {url}\n\n"
                f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
                " If you did not expect it, ignore this email."
            ),
            from_email=None,
            recipient_list=[email],
        )
    )
    record_audit_event(
        action=AuditAction.INVITATION_CREATED,
        actor=acting_user,
        target=invitation,
        request=request,
        details={"email": email, "role": role.slug},
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, acting_user: User | None) -> Invitation:
    # Whoever may invite (users:create) reaches the invitations of their scope (the
    # organization's, their team's, their own: its sender's), as the API and the admin list
    # them.
    access.require(acting_user, Action.CREATE, Resource.USERS, invitation)
    # One takes back only an invitation one could send: one to a role granting more than
    # one's own is not theirs, as the membership it makes would not be theirs to change.
    try:
        ensure_role_grantable(invitation.role, acting_user)
    except ValidationError:
        raise PermissionDenied(NOT_REVOKED_ABOVE) from None
    # Checked under the row's lock: of concurrent revocations one revokes, one is audited.
    invitation = locked(invitation)
    if invitation.status != "pending":
        raise ValidationError(f"This invitation is {invitation.status}; it cannot be revoked.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    record_audit_event(
        action=AuditAction.INVITATION_REVOKED,
        actor=acting_user,
        target=invitation,
        details={"email": invitation.email},
    )
    return invitation


@dataclass(frozen=True)
class OpenInvitation:
    """A valid invitation read from its link, with what the page needs to show."""

    invitation: Invitation
    organization: Organization
    role_name: str
    has_account: bool


def invitation_statuses(invitations: Iterable[Invitation]) -> dict[uuid.UUID, str]:
    """Each invitation's status by its id, as its link is answered: as stored
    (`Invitation.status`), or "lapsed" for a pending one its sender may no longer send:
    an invitation an admin sent before being made a rep, or removed, or whose account was
    deactivated, no longer makes anyone an admin (ADR 0011). One sent without a member (a
    command, platform access) stands as it was trusted, while the platform account that
    sent it is active.

    The senders and the roles of a page of invitations (each read with its role) are read
    at once: three queries at most, whatever their number."""
    invitations = list(invitations)
    statuses = {invitation.pk: invitation.status for invitation in invitations}
    sent = [
        invitation
        for invitation in invitations
        if statuses[invitation.pk] == InvitationStatus.PENDING
        and invitation.invited_by_id is not None
    ]
    if not sent:
        return statuses
    sender_ids = {invitation.invited_by_id for invitation in sent}
    senders = {
        membership.user_id: membership
        for membership in Membership.objects.select_related("role", "user").filter(
            user_id__in=sender_ids
        )
    }
    # Senders without a membership: platform super admins' invitations stand.
    unlisted = sender_ids - senders.keys()
    platform = (
        set(
            User.objects.filter(pk__in=unlisted, is_superuser=True, is_active=True).values_list(
                "pk", flat=True
            )
        )
        if unlisted
        else set()
    )
    grants = role_grant_maps(
        {invitation.role_id for invitation in sent}
        | {membership.role_id for membership in senders.values()}
    )
    for invitation in sent:
        sender = senders.get(invitation.invited_by_id)
        if sender is None:
            stands = invitation.invited_by_id in platform
        else:
            # Their membership and their account both active: either deactivated, they
            # send nothing any more.
            active = sender.is_active and sender.user.is_active
            stands = active and _may_send(invitation, sender, grants)
        if not stands:
            statuses[invitation.pk] = InvitationStatus.LAPSED
    return statuses


def _may_send(invitation: Invitation, sender: Membership, grants: dict) -> bool:
    """Whether the role of `sender` gives what sending `invitation` needs: the whole of
    its role, inviting (users:create) at all, and into its team (`may_place_in_team`)
    (`grants`: each role's, by id)."""
    needed = {(Resource.USERS, Action.CREATE): Scope.OWN, **grants[invitation.role_id]}
    own = grants[sender.role_id]
    beyond = grants_beyond(
        grants=needed,
        back_office=invitation.role.back_office,
        own=lambda resource, action: own.get((resource, action)),
        own_back_office=sender.role.back_office,
    )
    inviting = own.get((Resource.USERS, Action.CREATE))
    return beyond is None and may_place_in_team(inviting, invitation.team_id, sender.team_id)


def _stands(invitation: Invitation) -> bool:
    """Pending, and its sender may still send it (`invitation_statuses`)."""
    return invitation_statuses([invitation])[invitation.pk] == InvitationStatus.PENDING


def _payload(token: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    try:
        data = signing.loads(token, salt=SALT, max_age=lifetime())
        return uuid.UUID(data["o"]), uuid.UUID(data["i"]), str(data["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidInvitation from None


def open_invitation(token: str, *, for_update: bool = False) -> OpenInvitation:
    """The pending invitation of `token`, in its organization's context (the caller's
    transaction). Raises InvalidInvitation."""
    organization_id, invitation_id, secret = _payload(token)
    with tenant_context(organization_id):
        queryset = Invitation.objects.select_related("role")
        if for_update:
            queryset = queryset.select_for_update(of=("self",))
        invitation = queryset.filter(pk=invitation_id).first()
        if (
            invitation is None
            or not hmac.compare_digest(invitation.key_hash, hash_token(secret))
            or not _stands(invitation)
        ):
            raise InvalidInvitation
        return OpenInvitation(
            invitation=invitation,
            organization=Organization.objects.get(pk=organization_id),
            role_name=invitation.role.name,
            has_account=User.objects.filter(email__iexact=invitation.email).exists(),
        )


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    user: User | None = None,
    full_name: str = "",
    password: str | None = None,
    request=None,
) -> Membership:
    """Join the organization of `token`.

    An email with an account joins as that account, signed in (`user`); a new email
    creates its account with `full_name` and `password`. The invitation is used up.
    """
    opened = open_invitation(token, for_update=True)
    invitation = opened.invitation
    account = User.objects.filter(email__iexact=invitation.email).first()
    if account is not None:
        if user is None or not user.is_authenticated:
            raise PermissionDenied(f"Sign in as {invitation.email} to accept this invitation.")
        if user.pk != account.pk:
            raise PermissionDenied(f"This invitation is for {invitation.email}, not for you.")
    else:
        if user is not None and user.is_authenticated:
            raise PermissionDenied(f"This invitation is for {invitation.email}, not for you.")
        if not password:
            raise ValidationError({"password": "Choose a password for your new account."})
        full_name = (full_name or "").strip()[:200]
        try:
            validate_password(password, User(email=invitation.email, full_name=full_name))
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        account = User.objects.create_user(
            invitation.email,
            password,
            full_name=full_name,
            default_organization_id=invitation.organization_id,
        )
    return _join(invitation, account, request)


def _join(invitation: Invitation, account: User, request, **details) -> Membership:
    """Make `account` a member as `invitation` says, and use the invitation up."""
    with tenant_context(invitation.organization_id, user=account):
        membership = _admit(invitation, account)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = account
        invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
        record_audit_event(
            action=AuditAction.INVITATION_ACCEPTED,
            actor=account,
            target=invitation,
            request=request,
            details={"email": invitation.email, **details},
        )
    return membership


def _admit(invitation: Invitation, account: User) -> Membership:
    """The membership `invitation` makes of `account`. People join by invitation alone:
    a standing invitation (its sender may still send it, `invitation_statuses`) is what
    lets them in, so a membership is made here and nowhere else. A removed member's row is
    restored, not duplicated: owners and assignees reference it (ADR 0011)."""
    membership = Membership.all_objects.filter(user=account).first()
    if membership is not None and not membership.is_deleted:
        raise ValidationError({"email": "This person is a member of the organization already."})
    if membership is None:
        membership = Membership(user=account, organization_id=invitation.organization_id)
    membership.role, membership.team, membership.is_active = invitation.role, invitation.team, True
    membership.invited_by = invitation.invited_by or account
    membership.joined_at = timezone.now()
    membership.save()
    if membership.is_deleted:
        # Restored once it has its new role: the old one may have been deleted since,
        # and a restore brings no row back under a deleted parent.
        membership.restore()
    record_audit_event(
        action=AuditAction.MEMBERSHIP_CREATED,
        actor=account,
        target=membership,
        details={"user": account.email, "role": invitation.role.slug},
    )
    return membership


def pending_invitation(*, organization_id, email: str) -> Invitation | None:
    """The organization's open invitation of `email`, locked (the caller's transaction)."""
    with tenant_context(organization_id):
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("role")
            .filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True)
            .first()
        )
    return invitation if invitation is not None and _stands(invitation) else None


@transaction.atomic
def invitation_accept_verified(*, invitation: Invitation, request=None, via: str) -> Membership:
    """Accept `invitation` for an email an identity provider verified (`via`): a new
    account is created with no usable password (it signs in through the provider)."""
    account = User.objects.filter(email__iexact=invitation.email).first()
    if account is None:
        account = User.objects.create_user(
            invitation.email, None, default_organization_id=invitation.organization_id
        )
    return _join(invitation, account, request, via=via)
