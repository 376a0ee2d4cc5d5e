"""Writes of the accounts domain. Each is one transaction and leaves an audit row."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import slugify

from accounts import login_guard, security_notices, user_tokens
from accounts.audit import AuditAction, record_audit_event
from accounts.device_sessions import current_session_key, sign_out_other_devices
from accounts.models import (
    APIToken,
    Membership,
    Organization,
    Plan,
    Role,
    RolePermission,
    Team,
    User,
    UserObjectGrant,
    UserSession,
    hash_token,
)
from smartweb import access, json_schema, time_zones
from smartweb.locks import advisory_xact_lock
from smartweb.platform_reach import platform_reach
from smartweb.rbac import ADMIN_ROLE_SLUGS, DEFAULT_ROLES, SCOPE_RANK, Action, Resource, Scope
from smartweb.tenancy.context import (
    current_membership,
    current_organization_id,
    platform_access,
    tenant_context,
)
from smartweb.writes import locked, save_changed, values_of

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _clean_slug(name: str, slug: str | None) -> str:
    slug = (slug or slugify(name))[:80]
    if not slug or not SLUG_RE.match(slug):
        raise ValidationError({"slug": "Use lowercase letters, digits and hyphens."})
    return slug


def roles_create_defaults(*, organization: Organization) -> dict[str, Role]:
    """The default roles of the specification, in the current organization context."""
    roles = {}
    for slug, (name, grants) in DEFAULT_ROLES.items():
        role, created = Role.objects.get_or_create(
            organization=organization, slug=slug, defaults={"name": name, "is_system": True}
        )
        if created:
            RolePermission.objects.bulk_create(
                RolePermission(
                    organization=organization,
                    role=role,
                    resource=resource,
                    action=action,
                    scope=scope,
                )
                for (resource, action), scope in grants.items()
            )
        roles[slug] = role
    return roles


def _organization_setup_steps():
    return [import_string(path) for path in getattr(settings, "ORGANIZATION_SETUP_STEPS", [])]


def _organization_name(name: str | None) -> str:
    """An organization's name on one line: it heads the subjects of the emails sent in
    its name (invitations, digests), and a mail header cannot hold a line break."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "An organization needs a name."})
    return name


def _validate_time_zone(name: str, stored: str | None = None) -> None:
    try:
        time_zones.validate_chosen(name, stored)
    except ValidationError as error:
        raise ValidationError({"time_zone": error.messages}) from error


def organization_create(
    *,
    name: str,
    admin_email: str,
    admin_password: str | None,
    slug: str | None = None,
    plan: str = "free",
    time_zone: str = time_zones.DEFAULT,
    acting_user: User | None = None,
) -> Organization:
    """A new organization with its default roles, setup steps and first admin: made by
    the operator (a command, the system: None) or a platform super admin, as the API
    allows (`platform_reach`)."""
    if acting_user is not None and not platform_reach(acting_user):
        raise PermissionDenied("Only platform super admins create organizations.")
    name = _organization_name(name)
    slug = _clean_slug(name, slug)
    _validate_time_zone(time_zone)
    admin_email = (admin_email or "").strip().lower()
    validate_email(admin_email)
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"The slug '{slug}' is taken."})
    admin = User.objects.filter(email__iexact=admin_email).first()
    if admin is None:
        if not admin_password:
            raise ValidationError({"admin_password": "A new admin needs a password."})
        validate_password(admin_password, User(email=admin_email))
    elif admin_password:
        # Never set silently aside: the existing account keeps the password its owner chose.
        raise ValidationError(
            {
                "admin_password": f"{admin_email} already has an account, which keeps its own"
                " password: leave the password out to make it the admin."
            }
        )
    organization = Organization(name=name, slug=slug, plan=plan, time_zone=time_zone)
    # The new organization's own context is the one place its first rows may be written.
    with tenant_context(organization.pk, user=acting_user):
        try:
            with transaction.atomic():
                organization.save()
        except IntegrityError as exc:
            raise ValidationError({"slug": f"The slug '{slug}' is taken."}) from exc
        roles = roles_create_defaults(organization=organization)
        if admin is None:
            admin = User.objects.create_user(admin_email, admin_password)
        if admin.default_organization_id is None:
            admin.default_organization = organization
            admin.save(update_fields=["default_organization"])
        Membership.objects.create(
            organization=organization, user=admin, role=roles["org_admin"], invited_by=acting_user
        )
        for step in _organization_setup_steps():
            step(organization=organization)
        record_audit_event(
            action=AuditAction.ORGANIZATION_CREATED,
            actor=acting_user,
            target=organization,
            details={"name": name, "slug": slug, "admin_email": admin_email},
        )
    return organization


@transaction.atomic
def role_set_permissions(
    *, role: Role, grants: dict[tuple[str, str], str], acting_user: User | None = None
) -> Role:
    """Replace the role's permissions (a change of the role: roles:update); system roles
    are fixed. They are part of the role as shown, so its version moves when they change
    (ADR 0012): an `If-Match` read before is stale."""
    access.require(acting_user, Action.UPDATE, Resource.ROLES, role)
    return _replace_permissions(role, grants, acting_user)


def _replace_permissions(
    role: Role, grants: Mapping[tuple[str, str], str], acting_user: User | None
) -> Role:
    """`role_set_permissions` once permitted, and a new role's first permissions. The
    role's lock makes concurrent replacements wait for each other."""
    role = locked(role)
    before = values_of(role)
    if role.is_system:
        raise ValidationError("The default roles cannot be changed; create a custom role.")
    role_change_check(role=role, acting_user=acting_user)
    for (resource, action), scope in grants.items():
        if resource not in Resource.values or action not in Action.values:
            raise ValidationError(f"Unknown permission {resource}:{action}.")
        if scope not in Scope.values:
            raise ValidationError(f"Unknown scope {scope}.")
    ensure_grantable(grants=grants, acting_user=acting_user, back_office=role.back_office)
    changed = role_grant_map(role) != dict(grants)
    RolePermission.objects.filter(role=role).delete()
    RolePermission.objects.bulk_create(
        RolePermission(
            organization_id=role.organization_id,
            role=role,
            resource=resource,
            action=action,
            scope=scope,
        )
        for (resource, action), scope in grants.items()
    )
    save_changed(role, before, parts_changed=changed)
    record_audit_event(
        action=AuditAction.PERMISSIONS_CHANGED,
        actor=acting_user,
        target=role,
        details={"permissions": sorted(f"{r}:{a}:{s}" for (r, a), s in grants.items())},
    )
    return role


@transaction.atomic
def token_create(
    *,
    user: User,
    organization_id,
    name: str,
    expires_in_days: int | None = 90,
    sso_authorized: bool = False,
    second_factor: bool = False,
    request=None,
) -> tuple[APIToken, str]:
    """A new API token; the secret is returned once and never stored. `sso_authorized`:
    created by a sign-in through the organization's identity provider (ADR 0033), which
    vouches for that organization alone, so the token is confined to it; `second_factor`:
    by a sign-in that gave a second factor."""
    raw = APIToken.new_secret(organization_id)
    now = timezone.now()
    token = APIToken.objects.create(
        organization_id=organization_id,
        user=user,
        name=name[:120] or "API token",
        key_hash=hash_token(raw),
        key_prefix=raw[:12],
        expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
        sso_authorized_at=now if sso_authorized else None,
        confined=sso_authorized,
        second_factor_at=now if second_factor else None,
    )
    record_audit_event(
        action=AuditAction.TOKEN_CREATED,
        actor=user,
        target=token,
        request=request,
        details={
            "name": token.name,
            "sso_authorized": sso_authorized,
            "second_factor": second_factor,
        },
    )
    return token, raw


@transaction.atomic
def token_revoke(
    *, token: APIToken, acting_user: User, request=None, reason: str | None = None
) -> APIToken:
    """Revoke `token` (in its organization's context), once: one revoked already (by a
    concurrent revocation too, whose lock this waits for) is left as it is, and audited
    once. `reason`, for the audit row: why it was revoked when not on its own (with a
    password change)."""
    _ensure_may_revoke(token, acting_user)
    token = locked(token)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        record_audit_event(
            action=AuditAction.TOKEN_REVOKED,
            actor=acting_user,
            target=token,
            request=request,
            details={"reason": reason} if reason else None,
        )
    return token


def _ensure_may_revoke(token: APIToken, acting_user: User | None) -> None:
    """One's own tokens are one's own to revoke; another member's, only for whoever may
    manage their membership (`_ensure_not_above`): revoking them stops the member's
    integrations, and a custom role with users:update did so to the organization admin's."""
    if acting_user is None or acting_user.pk == token.user_id:
        return
    access.require(acting_user, Action.UPDATE, Resource.USERS, token)
    membership = Membership.all_objects.filter(user_id=token.user_id).first()
    if membership is not None:
        _ensure_not_above(membership, acting_user, refusal=NOT_THEIR_TOKENS)


def tokens_revoke_all(
    *, user: User, acting_user: User, reason: str, request=None, keep: APIToken | None = None
) -> int:
    """Revoke the user's active API tokens in every organization, but `keep` (the token
    of the request that asked), each audited in its organization; how many. Every
    organization's are the user's own to revoke, or a platform super admin's (as
    `token_revoke` finds in each: no membership reaches another's in all of them)."""
    if acting_user is not None and acting_user.pk != user.pk and not platform_reach(acting_user):
        raise PermissionDenied("Only platform super admins revoke another user's tokens.")
    revoked = 0
    for tokens in user_tokens.active_in_each_organization(user, acting_user=acting_user):
        for token in tokens.exclude(pk=getattr(keep, "pk", None)).select_for_update():
            token_revoke(token=token, acting_user=acting_user, request=request, reason=reason)
            revoked += 1
    return revoked


# --- Organizations, members, teams, roles and sessions: the writes behind the API and the
# admin. Each runs in the organization context of the caller (a request or `tenant_context`)
# and checks that every referenced row belongs to that organization, so that a bad
# reference is a clear error here rather than a deferred foreign key failure at commit.

MEMBERSHIP_FIELDS = ("role", "team", "is_active")


def _plain(value: Any) -> Any:
    """A JSON-able form of a field value for audit details."""
    if isinstance(value, models.Model):
        return str(value.pk)
    if value is None or isinstance(value, bool | int | str | dict | list):
        return value
    return str(value)


def _refuse_unknown(changes: Mapping[str, Any], allowed) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")


def _apply(instance: models.Model, changes: Mapping[str, Any], allowed) -> dict:
    """Set the changed fields; return {field: [before, after]} of those that differ."""
    _refuse_unknown(changes, allowed)
    diff = {}
    for field, value in changes.items():
        before = getattr(instance, field)
        if before != value:
            setattr(instance, field, value)
            diff[field] = [_plain(before), _plain(value)]
    return diff


def _save_changes(
    instance: models.Model,
    changes: Mapping[str, Any],
    allowed,
    *,
    action: str,
    acting_user: User | None,
    details: Callable[[Any], dict] | None = None,
) -> None:
    """Apply `changes` (only `allowed` fields) to `instance`, read under its lock
    (`locked`); if any field differs, save the fields that do and audit `action` with the
    {field: [before, after]} changes, after what `details` says of the changed row. Saving
    the whole row would undo a concurrent change of its other fields (ADR 0012)."""
    before = values_of(instance)
    diff = _apply(instance, changes, allowed)
    if diff:
        save_changed(instance, before)
        record_audit_event(
            action=action,
            actor=acting_user,
            target=instance,
            details={**(details(instance) if details else {}), "changes": diff},
        )


def _ensure_in_organization(*objects) -> None:
    """Every given tenant row (or member user) belongs to the current organization."""
    organization_id = current_organization_id()
    for obj in objects:
        if obj is None:
            continue
        if isinstance(obj, User):
            if not Membership.objects.filter(user=obj).exists():
                raise ValidationError(f"{obj} is not a member of this organization.")
        elif organization_id is None or obj.organization_id != organization_id:
            raise ValidationError(f"{obj} does not belong to this organization.")


def _ensure_unique(model, *, exclude=None, **lookup) -> None:
    """Per-organization uniqueness as a clear error (the partial unique index backs it)."""
    queryset = model.objects.filter(**{f"{k}__iexact": v for k, v in lookup.items()})
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    if queryset.exists():
        field, value = next(iter(lookup.items()))
        raise ValidationError({field: f"A {model._meta.verbose_name} '{value}' exists already."})


def role_grant_maps(role_ids: Iterable | None = None) -> dict[Any, dict[tuple[str, str], str]]:
    """Roles' grants (as `role_grant_map`) by role id, read in one query: of the roles
    `role_ids` (each one there, granting nothing or not), or of every role that grants
    anything."""
    permissions = RolePermission.objects.all()
    grants: dict = {}
    if role_ids is not None:
        grants = {role_id: {} for role_id in role_ids}
        permissions = permissions.filter(role_id__in=list(grants))
    for role_id, resource, action, scope in permissions.values_list(
        "role_id", "resource", "action", "scope"
    ):
        grants.setdefault(role_id, {})[(resource, action)] = scope
    return grants


def role_grant_map(role: Role) -> dict[tuple[str, str], str]:
    """What `role` grants: the scope of each (resource, action)."""
    return role_grant_maps([role.pk])[role.pk]


def grants_beyond(
    *,
    grants: Mapping[tuple[str, str], str],
    back_office: bool,
    own: Callable[[str, str], str | None],
    own_back_office: bool,
) -> str | None:
    """Why `grants` (and back-office sign-in, `back_office`) go beyond a holder's own
    (`own(resource, action)`: their scope or None), or None when they do not."""
    if back_office and not own_back_office:
        return "You cannot give back-office access: your own role does not sign in to the admin."
    for (resource, action), scope in sorted(grants.items()):
        mine = own(resource, action)
        if mine is None or SCOPE_RANK[Scope(mine)] < SCOPE_RANK[Scope(scope)]:
            return (
                f"You cannot grant {resource}:{action} with scope {scope}: "
                "it goes beyond your own permissions."
            )
    return None


def ensure_grantable(
    *,
    grants: Mapping[tuple[str, str], str],
    acting_user: User | None,
    back_office: bool = False,
) -> None:
    """A member may hand out only permissions they hold, at no wider scope, and sign-in
    to the back office (`back_office`) only if their own role has it.

    Requests act through a membership and are checked; commands, jobs and platform access
    run without one and are trusted.
    """
    membership = current_membership()
    if acting_user is None or membership is None:
        return
    refusal = grants_beyond(
        grants=grants,
        back_office=back_office,
        own=lambda resource, action: access.scope_for(acting_user, action, resource),
        own_back_office=membership.role.back_office,
    )
    if refusal:
        raise ValidationError(refusal)


def ensure_role_grantable(role: Role, acting_user: User | None) -> None:
    """The whole of `role` (its permissions and its back-office sign-in) is within what
    the acting member may hand out; refused at the `role` that names it (an invitation's,
    a membership's)."""
    try:
        ensure_grantable(
            grants=role_grant_map(role), acting_user=acting_user, back_office=role.back_office
        )
    except ValidationError as exc:
        raise ValidationError({"role": exc.messages}) from None


def grantable_roles(acting_user: User | None) -> models.QuerySet[Role]:
    """The roles of the organization `acting_user` may hand out, by the rule that refuses
    the others (`ensure_role_grantable`): what an invitation's role dropdown offers. Every
    role's grants are read in one query, not one a role."""
    grants = role_grant_maps()
    grantable = []
    for role in Role.objects.all():
        try:
            ensure_grantable(
                grants=grants.get(role.pk, {}),
                acting_user=acting_user,
                back_office=role.back_office,
            )
        except ValidationError:
            continue
        grantable.append(role.pk)
    return Role.objects.filter(pk__in=grantable)


def role_change_check(*, role: Role, acting_user: User | None) -> None:
    """A member changes or deletes only roles within their own: editing a role that grants
    more would change what its holders may do, beyond the editor's own reach (forms call
    this too)."""
    try:
        ensure_role_grantable(role, acting_user)
    except ValidationError:
        raise PermissionDenied(
            "This role grants more than yours: you cannot change or delete it."
        ) from None


def _is_active_admin(membership: Membership) -> bool:
    return membership.is_active and membership.role.slug in ADMIN_ROLE_SLUGS


def _ensure_admin_remains(membership: Membership, *, removing: bool = False) -> None:
    """An organization keeps at least one active administrator."""
    others = (
        Membership.objects.filter(is_active=True, role__slug__in=ADMIN_ROLE_SLUGS)
        .exclude(pk=membership.pk)
        .exists()
    )
    if not others and (removing or not _is_active_admin(membership)):
        raise ValidationError(
            "The organization needs at least one active Organization Admin; "
            "make someone else admin first."
        )


# Organizations

NOT_THE_ORGANIZATIONS = (
    "The organization's set-up is changed by whoever may update the whole organization."
)


def may_change_organization(user: User | None) -> bool:
    """May `user` change the organization's own set-up (its name, settings and time zone,
    its identity provider)? The organization is one object of the whole organization, which
    no own or team scope reaches: organizations:update for all of it, or platform reach.
    None is the system."""
    return (
        user is None
        or platform_reach(user)
        or access.can_organization_wide(user, Action.UPDATE, Resource.ORGANIZATIONS)
    )


def ensure_may_change_organization(user: User | None) -> None:
    """PermissionDenied unless `may_change_organization`."""
    if not may_change_organization(user):
        raise PermissionDenied(NOT_THE_ORGANIZATIONS)


@transaction.atomic
def organization_update(
    *, organization: Organization, changes: Mapping[str, Any], acting_user: User | None
) -> Organization:
    """Change name, plan, settings, time zone or is_active. Plan and is_active are the
    platform's.

    Runs in the organization's own context; a platform super admin editing another
    organization enters it through `platform_access` (audited).
    """
    ensure_may_change_organization(acting_user)
    platform_fields = {
        field
        for field in ("plan", "is_active")
        if field in changes and changes[field] != getattr(organization, field)
    }
    if platform_fields and not platform_reach(acting_user):
        raise PermissionDenied("Only platform super admins change the plan or deactivate.")
    if "name" in changes:
        changes = {**changes, "name": _organization_name(changes["name"])}
    if "plan" in changes and changes["plan"] not in Plan.values:
        raise ValidationError({"plan": f"Unknown plan {changes['plan']}."})
    if "settings" in changes:
        json_schema.validate(Organization, "settings", changes["settings"])
    if "time_zone" in changes:
        _validate_time_zone(changes["time_zone"], organization.time_zone)
    if current_organization_id() == organization.pk:
        entered = contextlib.nullcontext()
    else:
        entered = platform_access(
            actor=acting_user, organization=organization, reason="organization update"
        )
    with entered:
        organization = locked(organization)
        _save_changes(
            organization,
            changes,
            ("name", "plan", "settings", "time_zone", "is_active"),
            action=AuditAction.ORGANIZATION_CHANGED,
            acting_user=acting_user,
        )
    return organization


# Users and memberships


USER_OWN_FIELDS = ("full_name", "time_zone")
PLATFORM_USER_FIELDS = ("full_name", "time_zone", "email", "is_active", "default_organization")


@transaction.atomic
def user_update(*, user: User, changes: Mapping[str, Any], acting_user: User | None) -> User:
    """Change a user's global profile. Users are global (ADR 0002, 0011): only the user
    (their name and time zone) and platform super admins (also email, active, default
    organization) change it, never an organization admin, whose business is the membership. The
    platform flags (is_staff, is_superuser) are the operator's: the database refuses
    them to the application."""
    if acting_user is not None and not platform_reach(acting_user) and acting_user.pk != user.pk:
        raise PermissionDenied(
            "A user's profile is theirs: change their membership (role, team, active) instead."
        )
    allowed = PLATFORM_USER_FIELDS if acting_user is None or platform_reach(acting_user) else ()
    allowed = allowed or USER_OWN_FIELDS
    # As stored: the instance may be the request's user, read before a password change.
    user = locked(user)
    if changes.get("time_zone"):  # blank: each organization's own zone
        _validate_time_zone(changes["time_zone"], user.time_zone)
    if "email" in changes:
        changes = {**changes, "email": (changes["email"] or "").strip().lower()}
        validate_email(changes["email"])
        if User.objects.filter(email__iexact=changes["email"]).exclude(pk=user.pk).exists():
            raise ValidationError({"email": "Another user has this email."})
    _save_changes(
        user,
        changes,
        allowed,
        action=AuditAction.USER_CHANGED,
        acting_user=acting_user,
        details=lambda row: {"user": row.email},
    )
    return user


PASSWORD_CHANGE_EVENT = {"method": "password_change"}


@transaction.atomic
def password_change(
    *,
    user: User,
    current_password: str,
    new_password: str,
    revoke_api_tokens: bool = False,
    request=None,
) -> int:
    """The user changes their own password, proving the current one. A wrong one is a
    failed login, under the same lockout (`login_guard.LoginLocked` while locked): a
    borrowed session or token must not try passwords unthrottled. The user's other
    signed-in devices are signed out, the request's own session stays; with
    `revoke_api_tokens`, so are their API tokens (a token made with a stolen password
    outlives it otherwise), but the one the request is made with. The user is emailed
    (`security_notices`). Returns how many tokens were revoked."""
    email = user.email.lower()
    login_guard.refuse_if_locked(request, email=email, user=user, details=PASSWORD_CHANGE_EVENT)
    if not user.check_password(current_password or ""):
        login_guard.count_failure(request, email=email, user=user, details=PASSWORD_CHANGE_EVENT)
        raise ValidationError({"current_password": "The current password is not correct."})
    _set_new_password(user, new_password)
    user.save(update_fields=["password"])
    # Django no longer accepts the other sessions (the password's hash is in them); their
    # device rows say so.
    sign_out_other_devices(user, keep_session_key=current_session_key(request))
    record_audit_event(
        action=AuditAction.PASSWORD_CHANGED, actor=user, target=user, request=request
    )
    security_notices.password_changed(user)
    if not revoke_api_tokens:
        return 0
    current_token = getattr(request, "auth", None)
    return tokens_revoke_all(
        user=user,
        acting_user=user,
        reason="password_change",
        request=request,
        keep=current_token if isinstance(current_token, APIToken) else None,
    )


def _set_new_password(user: User, new_password: str) -> None:
    """The new password, if the password validators accept it (their messages as the
    `new_password` field's errors)."""
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from None
    user.set_password(new_password)


@transaction.atomic
def password_reset(
    *,
    user: User,
    new_password: str | None,
    revoke_api_tokens: bool,
    acting_user: User,
    request=None,
) -> int:
    """A platform super admin sets another user's password (None: no password sign-in
    any more), without the current one: the user forgot it, or it is believed stolen.
    Every device of the user is signed out; with `revoke_api_tokens`, every API token too.
    The user is emailed (`security_notices`). Returns how many tokens were revoked."""
    if not platform_reach(acting_user):
        raise PermissionDenied("Only platform super admins reset another user's password.")
    if acting_user.pk == user.pk:
        raise PermissionDenied("Change your own password with the current one.")
    if new_password is None:
        user.set_unusable_password()
    else:
        _set_new_password(user, new_password)
    user.save(update_fields=["password"])
    sign_out_other_devices(user, keep_session_key=None)
    # In the organization where the user's sign-ins are audited, not the one the super
    # admin is looking at.
    organization_id = login_guard.home_organization_id(user, None)
    with tenant_context(organization_id, user=acting_user):
        record_audit_event(
            action=AuditAction.PASSWORD_RESET,
            actor=acting_user,
            target=user,
            request=request,
            details={"password_sign_in": new_password is not None},
        )
    security_notices.password_changed(user, reset_by_admin=True)
    if not revoke_api_tokens:
        return 0
    return tokens_revoke_all(
        user=user, acting_user=acting_user, reason="password_reset", request=request
    )


NOT_ABOVE = "This member's role grants more than yours: you cannot change their membership."
NOT_THEIR_TOKENS = "This member's role grants more than yours: you cannot revoke their tokens."


def _ensure_not_above(
    membership: Membership, acting_user: User | None, *, refusal: str = NOT_ABOVE
) -> None:
    """A member manages only memberships whose role grants no more than their own: a
    custom role with users:update does not reach the organization admin."""
    if acting_user is not None and acting_user.pk == membership.user_id:
        return
    try:
        ensure_role_grantable(membership.role, acting_user)
    except ValidationError:
        raise PermissionDenied(refusal) from None


def may_place_in_team(scope: str | None, team_id, own_team_id) -> bool:
    """May a member of team `own_team_id` (None: of no team), whose scope of users:create
    (inviting) or users:update (moving) is `scope`, place a member in team `team_id`? A
    member's team is what their team scope reads, so placing one in a team widens what
    they see: with the right for the whole organization, any team; at team scope, one's
    own team alone. No team (None) narrows and is always allowed."""
    if team_id is None or scope == Scope.ALL:
        return True
    return scope == Scope.TEAM and own_team_id is not None and team_id == own_team_id


def placeable_teams(acting_user: User | None, action: str) -> models.QuerySet[Team]:
    """The teams `acting_user` may place a member in by `action` on users
    (`may_place_in_team`): what the invitation form (`Action.CREATE`) and the membership
    form (`Action.UPDATE`) offer. None is the system, trusted."""
    teams = Team.objects.all()
    if acting_user is None:
        return teams
    scope = access.scope_for(acting_user, action, Resource.USERS)
    if scope == Scope.ALL:
        return teams
    actor = current_membership()
    own_team_id = actor.team_id if actor is not None else None
    if own_team_id is None or not may_place_in_team(scope, own_team_id, own_team_id):
        return teams.none()
    return teams.filter(pk=own_team_id)


def _ensure_team_reachable(membership: Membership, team: Team | None, acting_user) -> None:
    """Moving a member into a team needs the right to place them there
    (`may_place_in_team`); at team scope, others of one's team only: no one moves
    themselves into a team otherwise (a role with users:update of one's own membership
    changed one's team, and the team scope with it). Leaving a team (no team) narrows what
    one sees and needs no more than the membership's change."""
    if acting_user is None or team is None or team.pk == membership.team_id:
        return
    scope = access.scope_for(acting_user, Action.UPDATE, Resource.USERS)
    actor = current_membership()
    placed = may_place_in_team(scope, team.pk, actor.team_id if actor is not None else None)
    if placed and (scope == Scope.ALL or membership.user_id != acting_user.pk):
        return
    raise PermissionDenied("You may not move this member into that team.")


def membership_check(
    *, membership: Membership, changes: Mapping[str, Any], acting_user: User | None
) -> None:
    """Refuse a membership change that would be invalid (the admin forms call this too)."""
    _refuse_unknown(changes, MEMBERSHIP_FIELDS)
    _ensure_in_organization(membership, changes.get("role"), changes.get("team"))
    _ensure_not_above(membership, acting_user)
    _ensure_team_reachable(membership, changes.get("team"), acting_user)
    role = changes.get("role")
    if role is not None and role.pk != membership.role_id:
        ensure_role_grantable(role, acting_user)
    if _is_active_admin(membership):
        after = Membership(
            pk=membership.pk,
            role=role or membership.role,
            is_active=changes.get("is_active", membership.is_active),
        )
        _ensure_admin_remains(after)


@transaction.atomic
def membership_update(
    *, membership: Membership, changes: Mapping[str, Any], acting_user: User | None
) -> Membership:
    """Change a member's role, team or active flag (a deactivated member sees nothing):
    users:update within its scope, as the API and the admin ask."""
    access.require(acting_user, Action.UPDATE, Resource.USERS, membership)
    return _membership_change(membership, changes, acting_user)


def _membership_change(
    membership: Membership, changes: Mapping[str, Any], acting_user: User | None
) -> Membership:
    """`membership_update` once permitted, and a deleted team's members leaving it."""
    membership = _locked_membership(membership)
    membership_check(membership=membership, changes=changes, acting_user=acting_user)
    _save_changes(
        membership,
        changes,
        MEMBERSHIP_FIELDS,
        action=AuditAction.MEMBERSHIP_CHANGED,
        acting_user=acting_user,
        details=lambda row: {"user": row.user.email},
    )
    return membership


def _locked_membership(membership: Membership) -> Membership:
    """The membership as stored, locked, once no other change of the organization's
    memberships is under way: each checks from the others that an active admin remains
    (`_ensure_admin_remains`), and two admins demoted side by side each counted on the
    other and left none. The row first, as an `If-Match` check or an admin form's version
    check takes it, so that neither order deadlocks with this one."""
    membership = locked(membership)
    advisory_xact_lock("memberships", membership.organization_id)
    return membership


def membership_delete_check(*, membership: Membership, acting_user: User | None) -> None:
    _ensure_in_organization(membership)
    _ensure_not_above(membership, acting_user)
    if _is_active_admin(membership):
        _ensure_admin_remains(membership, removing=True)


@transaction.atomic
def membership_delete(*, membership: Membership, acting_user: User | None) -> None:
    """Remove a person from the organization (soft delete: history keeps the row):
    users:delete within its scope, as the API and the admin ask."""
    access.require(acting_user, Action.DELETE, Resource.USERS, membership)
    membership = _locked_membership(membership)
    membership_delete_check(membership=membership, acting_user=acting_user)
    membership.delete()
    # The records shared with them stop being shared: invited again, they start afresh.
    shares_ended, _ = UserObjectGrant.objects.filter(
        organization_id=membership.organization_id, user_id=membership.user_id
    ).delete()
    record_audit_event(
        action=AuditAction.MEMBERSHIP_DELETED,
        actor=acting_user,
        target=membership,
        details={
            "user": membership.user.email,
            "role": membership.role.slug,
            "share_grants_ended": shares_ended,
        },
    )


# Teams


def team_check(*, name: str, manager: User | None, team: Team | None = None) -> None:
    if not (name or "").strip():
        raise ValidationError({"name": "A team needs a name."})
    _ensure_unique(Team, name=name.strip(), exclude=team)
    _ensure_in_organization(manager)


@transaction.atomic
def team_create(*, name: str, manager: User | None = None, acting_user: User | None) -> Team:
    access.require(acting_user, Action.CREATE, Resource.TEAMS)
    team_check(name=name, manager=manager)
    team = Team.objects.create(name=name.strip(), manager=manager)
    record_audit_event(
        action=AuditAction.TEAM_CREATED,
        actor=acting_user,
        target=team,
        details={"name": team.name, "manager": _plain(manager)},
    )
    return team


TEAM_MANAGER_BY_ADMINS = (
    "Who manages a team is decided by whoever may change every team of the organization."
)


def may_change_team_manager(user: User | None) -> bool:
    """A team's manager is an organization admin's decision: a Sales Manager renames their
    own team (teams:update at team scope) but does not name its manager (None: the
    system)."""
    return user is None or access.can_organization_wide(user, Action.UPDATE, Resource.TEAMS)


@transaction.atomic
def team_update(*, team: Team, changes: Mapping[str, Any], acting_user: User | None) -> Team:
    """Rename a team or (`may_change_team_manager`) name its manager: teams:update within
    its scope (a team is its members': a Sales Manager's reaches their own)."""
    _ensure_in_organization(team)
    access.require(acting_user, Action.UPDATE, Resource.TEAMS, team)
    team = locked(team)
    if (
        "manager" in changes
        and changes["manager"] != team.manager
        and not may_change_team_manager(acting_user)
    ):
        raise ValidationError({"manager": TEAM_MANAGER_BY_ADMINS})
    team_check(
        name=changes.get("name", team.name), manager=changes.get("manager", team.manager), team=team
    )
    if "name" in changes:
        changes = {**changes, "name": changes["name"].strip()}
    _save_changes(
        team, changes, ("name", "manager"), action=AuditAction.TEAM_CHANGED, acting_user=acting_user
    )
    return team


@transaction.atomic
def team_delete(*, team: Team, acting_user: User | None) -> None:
    """Delete a team (teams:delete within its scope); its members stay in the organization
    without a team, each a change of their membership that needs no more than the
    deletion (leaving a team narrows what one sees), on members not above the user's own
    (`membership_check`)."""
    _ensure_in_organization(team)
    access.require(acting_user, Action.DELETE, Resource.TEAMS, team)
    for membership in Membership.objects.filter(team=team):
        _membership_change(membership, {"team": None}, acting_user)
    team.delete()
    record_audit_event(
        action=AuditAction.TEAM_DELETED, actor=acting_user, target=team, details={"name": team.name}
    )


# Roles


def role_check(*, name: str, slug: str | None = None, role: Role | None = None) -> str:
    """Refuse an invalid role name or slug; the slug to use (derived from the name if
    not given). Forms call this too."""
    if role is not None and role.is_system:
        raise ValidationError("The default roles cannot be changed; create a custom role.")
    if not (name or "").strip():
        raise ValidationError({"name": "A role needs a name."})
    slug = _clean_slug(name, slug)
    _ensure_unique(Role, name=name.strip(), exclude=role)
    _ensure_unique(Role, slug=slug, exclude=role)
    return slug


@transaction.atomic
def role_create(
    *,
    name: str,
    grants: Mapping[tuple[str, str], str],
    slug: str | None = None,
    description: str = "",
    back_office: bool = True,
    acting_user: User | None = None,
) -> Role:
    """A custom role of the current organization with its permissions (`back_office`:
    whether its members may sign in to the admin): roles:create, with its permissions at
    once (no roles:update asked of a role being made)."""
    access.require(acting_user, Action.CREATE, Resource.ROLES)
    slug = role_check(name=name, slug=slug)
    ensure_grantable(grants=grants, acting_user=acting_user, back_office=back_office)
    role = Role.objects.create(
        name=name.strip(), slug=slug, description=description, back_office=back_office
    )
    record_audit_event(
        action=AuditAction.ROLE_CREATED,
        actor=acting_user,
        target=role,
        details={"name": role.name, "slug": role.slug},
    )
    return _replace_permissions(role, grants, acting_user)


@transaction.atomic
def role_update(*, role: Role, changes: Mapping[str, Any], acting_user: User | None) -> Role:
    """Rename or describe a custom role, or change its back-office sign-in (permissions:
    `role_set_permissions`): roles:update (a role is the whole organization's: scope all)."""
    _ensure_in_organization(role)
    access.require(acting_user, Action.UPDATE, Resource.ROLES, role)
    role = locked(role)
    role_change_check(role=role, acting_user=acting_user)
    if "back_office" in changes:
        ensure_grantable(grants={}, acting_user=acting_user, back_office=changes["back_office"])
    slug = role_check(
        name=changes.get("name", role.name), slug=changes.get("slug", role.slug), role=role
    )
    if "slug" in changes:
        changes = {**changes, "slug": slug}
    _save_changes(
        role,
        changes,
        ("name", "slug", "description", "back_office"),
        action=AuditAction.ROLE_CHANGED,
        acting_user=acting_user,
    )
    return role


def role_delete_check(*, role: Role, acting_user: User | None) -> None:
    _ensure_in_organization(role)
    role_change_check(role=role, acting_user=acting_user)
    if role.is_system:
        raise ValidationError("The default roles cannot be deleted.")
    if Membership.objects.filter(role=role).exists():
        raise ValidationError("Members still have this role; give them another role first.")


@transaction.atomic
def role_delete(*, role: Role, acting_user: User | None) -> None:
    """Delete a custom role no one holds: roles:delete (of the whole organization)."""
    access.require(acting_user, Action.DELETE, Resource.ROLES, role)
    role_delete_check(role=role, acting_user=acting_user)
    role.delete()
    record_audit_event(
        action=AuditAction.ROLE_DELETED,
        actor=acting_user,
        target=role,
        details={"name": role.name, "slug": role.slug},
    )


# Sessions


@transaction.atomic
def session_revoke(*, session: UserSession, acting_user: User, request=None) -> UserSession:
    """Sign a device out: the session middleware refuses a revoked session from now on.
    One's own devices alone, as the API lists them (None: the system)."""
    if acting_user is not None and acting_user.pk != session.user_id:
        raise PermissionDenied("Only your own devices are yours to sign out.")
    if session.revoked_at is None:
        session.revoked_at = timezone.now()
        session.save(update_fields=["revoked_at", "updated_at"])
        record_audit_event(
            action=AuditAction.SESSION_REVOKED,
            actor=acting_user,
            target=session,
            request=request,
            details={"device": session.device},
        )
    return session
