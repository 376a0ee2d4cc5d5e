"""Writes of the accounts domain. Each is one transaction and leaves an audit row."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import slugify

from accounts.audit import AuditAction, record_audit_event
from accounts.models import (
    APIToken,
    Membership,
    Organization,
    Role,
    RolePermission,
    User,
    hash_token,
)
from smartweb.rbac import DEFAULT_ROLES, Action, Resource, Scope
from smartweb.tenancy.context import tenant_context

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


def organization_create(
    *,
    name: str,
    admin_email: str,
    admin_password: str | None,
    slug: str | None = None,
    plan: str = "free",
    acting_user: User | None = None,
) -> Organization:
    """A new organization with its default roles, setup steps and first admin."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "An organization needs a name."})
    slug = _clean_slug(name, slug)
    admin_email = (admin_email or "").strip().lower()
    validate_email(admin_email)
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"The slug '{slug}' is taken."})
    admin = User.objects.filter(email__iexact=admin_email).first()
    if admin is None:
        if not admin_password:
            raise ValidationError({"admin_password": "A new admin needs a password."})
        validate_password(admin_password, User(email=admin_email))
    organization = Organization(name=name, slug=slug, plan=plan)
    # The new organization's own context is the one place its first rows may be written.
    with tenant_context(organization.pk, user=acting_user):
        try:
            with transaction.atomic():
                organization.save()
        except IntegrityError as exc:
            raise ValidationError({"slug": f"The slug '{slug}' is taken."}) from exc
        roles = roles_create_defaults(organization=organization)
        if admin is None:
            admin = User.objects.create_user(admin_email, admin_password, is_staff=True)
        elif not admin.is_staff:
            admin.is_staff = True
            admin.save(update_fields=["is_staff"])
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
def membership_create(
    *, user: User, role: Role, team=None, acting_user: User | None = None
) -> Membership:
    membership = Membership.objects.create(
        user=user,
        role=role,
        team=team,
        invited_by=acting_user,
        organization_id=role.organization_id,
    )
    record_audit_event(
        action=AuditAction.MEMBERSHIP_CREATED,
        actor=acting_user,
        target=membership,
        details={"user": user.email, "role": role.slug},
    )
    return membership


@transaction.atomic
def role_set_permissions(
    *, role: Role, grants: dict[tuple[str, str], str], acting_user: User | None = None
) -> Role:
    """Replace the role's permissions; system roles are fixed."""
    if role.is_system:
        raise ValidationError("The default roles cannot be changed; create a custom role.")
    for (resource, action), scope in grants.items():
        if resource not in Resource.values or action not in Action.values:
            raise ValidationError(f"Unknown permission {resource}:{action}.")
        if scope not in Scope.values:
            raise ValidationError(f"Unknown scope {scope}.")
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
    record_audit_event(
        action=AuditAction.PERMISSIONS_CHANGED,
        actor=acting_user,
        target=role,
        details={"permissions": sorted(f"{r}:{a}:{s}" for (r, a), s in grants.items())},
    )
    return role


@transaction.atomic
def token_create(
    *, user: User, organization_id, name: str, expires_in_days: int | None = 90, request=None
) -> tuple[APIToken, str]:
    """A new API token; the secret is returned once and never stored."""
    raw = APIToken.new_secret(organization_id)
    token = APIToken.objects.create(
        organization_id=organization_id,
        user=user,
        name=name[:120] or "API token",
        key_hash=hash_token(raw),
        key_prefix=raw[:12],
        expires_at=timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    record_audit_event(
        action=AuditAction.TOKEN_CREATED,
        actor=user,
        target=token,
        request=request,
        details={"name": token.name},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: APIToken, acting_user: User, request=None) -> APIToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        record_audit_event(
            action=AuditAction.TOKEN_REVOKED, actor=acting_user, target=token, request=request
        )
    return token
