"""Organizations, users, teams, memberships, roles, sessions, OAuth links, API tokens,
object grants and the security audit log."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from binascii import unhexlify

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.models import GroupObjectPermissionAbstract, UserObjectPermissionAbstract

from smartweb import time_zones
from smartweb.json_schema import DeclaredJSONField
from smartweb.loading import QuickLoadModel
from smartweb.models import TenantModel, TenantOwnedModel, TimeStampedModel, active_unique
from smartweb.rbac import ROLE_HELP, Action, Resource, Scope
from smartweb.validators import ONE_LINE


class Plan(models.TextChoices):
    FREE = "free"
    STARTER = "starter"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


class Organization(TimeStampedModel):
    """A tenant. The registry of tenants itself is not tenant-owned (see ADR 0002)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    settings = DeclaredJSONField(
        default=dict, blank=True, schema="accounts.json_schemas.ORGANIZATION_SETTINGS"
    )
    is_active = models.BooleanField(default=True)
    time_zone = models.CharField(
        max_length=64,
        default=time_zones.DEFAULT,
        # In the database too: a writer that names no zone (older code during a deploy,
        # a raw insert) gets the default rather than a refusal.
        db_default=time_zones.DEFAULT,
        validators=[time_zones.validate_time_zone],
        help_text="Where the organization's people read and type times in the back office:"
        " an IANA name such as Europe/London. Stored times and the API stay in UTC.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(plan__in=Plan.values), name="organization_plan_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(QuickLoadModel, AbstractBaseUser, PermissionsMixin):
    """A person; logs in with an email. Belongs to organizations through memberships."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=200, blank=True, validators=[ONE_LINE])
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="May log into the admin (within their organizations)."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    default_organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        # A writer that names none (older code during a deploy) leaves the user on their
        # organization's zone.
        db_default="",
        validators=[time_zones.validate_time_zone],
        help_text="Where you read and type times in the back office, in every organization:"
        " an IANA name such as America/New_York. Blank: each organization's own zone.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    # How other rows show a user (an owner, an assignee): the API's summary, as lists read it.
    SUMMARY_FIELDS = ("id", "email", "full_name")

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Team(TenantOwnedModel):
    rbac_resource = Resource.TEAMS
    # A team is its members': "own" and "team" scope reach the team one is in (a Sales
    # Manager renames theirs), another team needs the whole organization's.
    scope_owner_field = "memberships__user"

    name = models.CharField(max_length=120)
    manager = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [active_unique("organization", "name", name="team_name_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class Role(TenantOwnedModel):
    """A named set of permissions in one organization; the defaults are `is_system`."""

    rbac_resource = Resource.ROLES

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    is_system = models.BooleanField(default=False, editable=False)
    back_office = models.BooleanField(
        default=True,
        help_text="Members with this role may sign in to the back office (the admin).",
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [
            active_unique("organization", "slug", name="role_slug_unique_per_org"),
            active_unique("organization", "name", name="role_name_unique_per_org"),
        ]

    def __str__(self) -> str:
        return self.name


class RolePermission(TenantModel):
    rbac_resource = Resource.ROLES

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="permissions")
    resource = models.CharField(max_length=40, choices=Resource.choices)
    action = models.CharField(max_length=20, choices=Action.choices)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.ALL)

    class Meta:
        ordering = ["resource", "action"]
        constraints = [
            models.UniqueConstraint(
                fields=["role", "resource", "action"], name="role_permission_unique"
            ),
            models.CheckConstraint(
                condition=Q(resource__in=Resource.values), name="role_permission_resource_valid"
            ),
            models.CheckConstraint(
                condition=Q(action__in=Action.values), name="role_permission_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(scope__in=Scope.values), name="role_permission_scope_valid"
            ),
        ]
        indexes = [models.Index(fields=["organization", "role"], name="rolepermission_org_role")]

    def __str__(self) -> str:
        return f"{self.resource}:{self.action}:{self.scope}"


class Membership(TenantOwnedModel):
    """A user's place in one organization: their role and team."""

    rbac_resource = Resource.USERS
    scope_owner_field = "user"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, related_name="memberships", help_text=ROLE_HELP
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="memberships"
    )
    is_active = models.BooleanField(default=True)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantOwnedModel.Meta):
        ordering = ["joined_at"]
        constraints = [active_unique("organization", "user", name="membership_unique_per_org")]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            models.Index(fields=["user", "organization"], name="membership_user_org"),
        ]

    def __str__(self) -> str:
        # The organization by name: its page's title and messages are read by people.
        # Organizations are not tenant-owned, so this reads in any context.
        return f"{self.user} in {self.organization}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class InvitationStatus(models.TextChoices):
    """An invitation's status as shown. "Lapsed" is not stored: a pending invitation
    whose sender may no longer send it (`accounts.invitations.invitation_statuses`)."""

    PENDING = "pending"
    LAPSED = "lapsed"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class Invitation(TenantModel):
    """An invitation to join the organization, sent by email.

    Only a SHA-256 of the link's secret is stored; the link itself is signed and names
    the organization, so accepting it can enter that organization's context before the
    look-up. It is used once (accepted), may be revoked, and expires.
    """

    rbac_resource = Resource.USERS
    scope_owner_field = "invited_by"

    email = models.EmailField(max_length=254)
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, related_name="invitations", help_text=ROLE_HELP
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per email: inviting again replaces the link.
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_open_unique_per_email",
            )
        ]
        indexes = [models.Index(fields=["organization", "email"], name="invitation_org_email")]

    def __str__(self) -> str:
        # Not its status: whether a pending one still stands is its sender's, read with
        # the page (`accounts.invitations.invitation_statuses`).
        return self.email

    @property
    def status(self) -> InvitationStatus:
        """The status as stored: "pending" while open (see `InvitationStatus`)."""
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING


class APIToken(TenantModel):
    """A named, expiring, revocable API credential of one user in one organization.

    Only a SHA-256 of the secret is stored. The token's text carries the organization
    id, so authentication can enter that organization's context before looking it up.
    """

    rbac_resource = Resource.USERS
    scope_owner_field = "user"

    PREFIX = "swt"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(max_length=16, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # When the organization's identity provider vouched for the token's creation (ADR
    # 0033): where single sign-on is required, a token without it is refused.
    sso_authorized_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Made by a sign-in that vouched for this organization alone (its identity provider):
    # the token acts as its user's membership here, never with a super admin's reach
    # over the platform (`smartweb.platform_reach`). Kept apart from `sso_authorized_at`,
    # which unlinking the identity clears.
    confined = models.BooleanField(
        default=False,
        editable=False,
        verbose_name="confined to its organization",
        help_text="Made through the organization's identity provider, which vouches for "
        "this organization alone: the token never reaches the rest of the platform.",
    )
    # The last refusal for want of single sign-on that was audited (one row an hour).
    sso_refused_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the token was created after a second factor (a code with the password, or a
    # back-office session that gave one): where the organization requires two-factor
    # authentication of its user, a token without it is refused.
    second_factor_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "user"], name="apitoken_org_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @classmethod
    def new_secret(cls, organization_id: uuid.UUID) -> str:
        return f"{cls.PREFIX}_{organization_id.hex}_{secrets.token_urlsafe(32)}"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class UserSession(TimeStampedModel):
    """A signed-in device of a user (admin or API session); the user may revoke it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="device_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    device = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user} on {self.device or 'unknown device'}"


class LoginAttempt(models.Model):
    """One password check, for the login lockout (accounts.login_guard).

    Not tenant data: a login happens before any organization is chosen, and the email may
    belong to no one. Failures are kept for the lockout window, successes as long as they
    make an address one of the account's usual ones; the audit log is the record.
    """

    id = models.BigAutoField(primary_key=True)
    email = models.CharField(max_length=254)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    success = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["email", "-created_at"], name="loginattempt_email"),
            models.Index(fields=["ip_address", "-created_at"], name="loginattempt_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.email} {'ok' if self.success else 'failed'} {self.created_at:%Y-%m-%d %H:%M}"


class OAuthAccount(TimeStampedModel):
    """A link to an external identity; provider tokens are encrypted at rest."""

    encrypted_fields = ("access_token_encrypted", "refresh_token_encrypted")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="oauth_accounts")
    provider = models.CharField(max_length=40)
    provider_account_id = models.CharField(max_length=255)
    access_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_account_id"], name="oauth_account_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_account_id}"

    def set_tokens(self, *, access: str = "", refresh: str = "") -> None:
        from accounts.crypto import encrypt

        self.access_token_encrypted = encrypt(access) if access else ""
        self.refresh_token_encrypted = encrypt(refresh) if refresh else ""

    def get_access_token(self) -> str:
        from accounts.crypto import decrypt

        return decrypt(self.access_token_encrypted) if self.access_token_encrypted else ""


class UserObjectGrant(UserObjectPermissionAbstract):
    """django-guardian's per-object grant, carrying organization_id to sit under RLS."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", editable=False
    )

    class Meta(UserObjectPermissionAbstract.Meta):
        abstract = False
        indexes = [
            models.Index(
                fields=["organization", "content_type", "object_pk"], name="objgrant_org_obj"
            )
        ]


class GroupObjectGrant(GroupObjectPermissionAbstract):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", editable=False
    )

    class Meta(GroupObjectPermissionAbstract.Meta):
        abstract = False


class AuditLog(models.Model):
    """Append-only security log. organization is NULL for events with no tenant (a failed
    login for an unknown email); the insert policy admits those, the read policy does not."""

    rbac_resource = Resource.AUDIT_LOGS

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=160, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "audit_logs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_created"),
            models.Index(fields=["organization", "action"], name="audit_org_action"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"


class IdempotentRequest(TenantModel):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed to its retries.

    One row per organization, user, key and endpoint; `fingerprint` (a SHA-256 of the
    request's input) tells a retry from another request reusing the key. Kept until
    `expires_at`.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    response_headers = models.JSONField(default=dict)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "key", "endpoint"], name="idempotent_request_key"
            )
        ]
        indexes = [models.Index(fields=["organization", "expires_at"], name="idempotent_expiry")]


# Membership lookups before an organization is chosen: the policy on memberships lets a
# user see their own rows (user_id = the context's user), in any organization.
Membership.add_to_class("for_user_lookup", models.Manager())


class SealedTOTPDevice(TOTPDevice):
    """An authenticator whose seed is read from its sealed secret (`TOTPSecret`): the
    plain `key` column django-otp keeps holds nothing."""

    class Meta:
        proxy = True
        verbose_name = "authenticator"

    @property
    def bin_key(self) -> bytes:
        from accounts.crypto import decrypt

        return unhexlify(decrypt(self.sealed.sealed_key))


class TOTPSecret(models.Model):
    """An authenticator's seed, encrypted at rest (accounts.crypto): django-otp stores it
    in plain hex, which a copy of the database, a backup or a replica would give away
    with the second factor it stands for. Re-encrypted by `rotate_encryption_key`."""

    encrypted_fields = ("sealed_key",)

    device = models.OneToOneField(
        TOTPDevice, on_delete=models.CASCADE, primary_key=True, related_name="sealed"
    )
    sealed_key = models.TextField(editable=False)

    def __str__(self) -> str:
        return f"sealed seed of device {self.device_id}"


def recovery_code_digest(code: str) -> str:
    """What is stored of a recovery code: 96 bits of its SHA-256, the 16 characters
    django-otp's token column holds. Codes are 80 random bits (`two_factor`), so the
    digest cannot be reversed by trying codes; typed in any case."""
    digest = hashlib.sha256(code.lower().encode()).digest()
    return base64.urlsafe_b64encode(digest)[:16].decode()


class RecoveryCodes(StaticDevice):
    """A user's single-use recovery codes, stored as digests (`recovery_code_digest`):
    django-otp compares and keeps them in clear."""

    class Meta:
        proxy = True
        verbose_name = "recovery codes"

    def verify_token(self, token):
        return super().verify_token(recovery_code_digest(token))
