"""Serializers of the accounts API. Writes go through `accounts.services`; references to
roles, teams and users are looked up in the current organization only, so another
organization's id is an unknown id (400), never a link."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import invitations
from accounts.models import (
    APIToken,
    AuditLog,
    Invitation,
    InvitationStatus,
    Membership,
    Organization,
    Plan,
    Role,
    Team,
    User,
    UserSession,
)
from accounts.selectors import member_users
from smartweb import access, time_zones
from smartweb.api.serializers import (
    BooleanField,
    EmailField,
    IntegerField,
    ListedSummarySerializer,
    ModelSerializer,
    NameField,
    PrimaryKeyRelatedField,
    Serializer,
    SlugField,
    TextField,
)
from smartweb.rbac import ROLE_HELP, Action, Resource, Scope

# Managers, not querysets: the default managers are scoped to the organization of the
# request, and DRF calls `.all()` on a manager per request.
ROLES = Role.objects
TEAMS = Team.objects


class MemberField(PrimaryKeyRelatedField):
    """A user who is a member of the current organization."""

    def get_queryset(self):
        return member_users()


# Authentication and tokens


class TokenObtainSerializer(Serializer):
    email = EmailField()
    password = TextField(trim_whitespace=False, write_only=True)
    organization = TextField(
        required=False, allow_blank=True, help_text="Organization id or slug (default: yours)."
    )
    name = TextField(required=False, max_length=120, default="API token")
    otp_code = TextField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="The code of your second factor, if you have one or your organization "
        "requires it: from your authenticator app, or a recovery code.",
    )
    expires_in_days = IntegerField(required=False, min_value=1, max_value=365, default=90)


class TokenIssuedSerializer(Serializer):
    token = TextField(help_text="Shown once: only a hash is stored.")
    id = serializers.UUIDField()
    organization = serializers.UUIDField()
    expires_at = serializers.DateTimeField(allow_null=True)


class TokenSerializer(ModelSerializer):
    is_current = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField(
        help_text='"active", "revoked", "expired", "needs_sso": the organization requires '
        "its identity provider and the token was not created through it (refused until "
        'replaced by one from POST /api/v1/auth/sso-token/), or "needs_second_factor": the '
        "organization requires two-factor authentication of its user and the token was "
        "created without a second factor (refused until replaced by one created with it)."
    )

    class Meta:
        model = APIToken
        fields = [
            "id",
            "name",
            "key_prefix",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "sso_authorized_at",
            "confined",
            "second_factor_at",
            "status",
            "is_current",
        ]
        read_only_fields = fields

    def get_is_current(self, token) -> bool:
        request = self.context.get("request")
        auth = getattr(request, "auth", None)
        return isinstance(auth, APIToken) and auth.pk == token.pk

    def get_status(self, token) -> str:
        from sso import policy  # an app above accounts: imported when used

        # The organization's provider, read once for a whole list (the context is shared).
        if "sso_provider" not in self.context:
            self.context["sso_provider"] = policy.provider_of(token.organization_id)
        return policy.token_status(token, self.context["sso_provider"])


class TokenRevokeSerializer(Serializer):
    id = serializers.UUIDField(
        required=False, help_text="A token of yours; default: the token of this request."
    )


class SessionSerializer(ModelSerializer):
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = UserSession
        fields = [
            "id",
            "device",
            "ip_address",
            "created_at",
            "last_seen_at",
            "revoked_at",
            "is_current",
        ]
        read_only_fields = fields

    def get_is_current(self, session) -> bool:
        request = self.context.get("request")
        current = getattr(getattr(request, "session", None), "session_key", None)
        return current is not None and current == session.session_key


# The signed-in user


class MeUserSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "time_zone",
            "is_staff",
            "is_superuser",
            "default_organization",
        ]
        read_only_fields = fields


class OrganizationSummarySerializer(ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "is_active"]
        read_only_fields = fields


class MeMembershipSerializer(Serializer):
    id = serializers.UUIDField()
    organization = OrganizationSummarySerializer()
    role = serializers.SerializerMethodField()
    is_active = BooleanField()
    joined_at = serializers.DateTimeField()

    def get_role(self, membership) -> dict | None:
        # Set by the view, which reads each role in its own organization.
        role = getattr(membership, "role_in_own_organization", None)
        return RoleSummarySerializer(role).data if role else None


class MeSerializer(Serializer):
    user = MeUserSerializer()
    organization = serializers.SerializerMethodField()
    membership = serializers.UUIDField(allow_null=True, help_text="The current membership.")
    memberships = MeMembershipSerializer(
        many=True,
        help_text="In every organization the sign-in reaches: one signed in through an"
        " organization's identity provider reaches that organization alone.",
    )
    permissions = serializers.DictField(
        child=serializers.DictField(child=TextField()),
        help_text="Effective permissions here: resource -> action -> scope.",
    )

    def get_organization(self, me) -> dict | None:
        organization = me["organization"]
        return OrganizationSerializer(organization).data if organization else None


# Organizations


class OrganizationSerializer(ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "plan",
            "settings",
            "time_zone",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "slug", "created_at", "updated_at"]
        extra_kwargs = {"time_zone": {"validators": []}}  # checked as chosen, below

    def validate_time_zone(self, value: str) -> str:
        time_zones.validate_chosen(value, self.instance.time_zone if self.instance else None)
        return value


class OrganizationCreateSerializer(Serializer):
    """A new organization with its default roles and first admin (platform super admins)."""

    name = TextField(max_length=200)
    slug = TextField(max_length=80, required=False, allow_blank=True)
    plan = serializers.ChoiceField(choices=Plan.choices, default=Plan.FREE)
    time_zone = TextField(
        max_length=64,
        default=time_zones.DEFAULT,
        validators=[time_zones.validate_time_zone],
        help_text=Organization._meta.get_field("time_zone").help_text,
    )
    admin_email = EmailField()
    admin_password = TextField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )


# People: users (members), memberships, teams


class RoleSummarySerializer(ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "name", "slug"]


class TeamSummarySerializer(ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name"]


class UserSummarySerializer(ListedSummarySerializer):
    """A user as other rows show them (an owner, an assignee); lists read it as JSON."""

    class Meta:
        model = User
        fields = list(User.SUMMARY_FIELDS)
        read_only_fields = fields


class RoleAnsweredToReaders:
    """A membership's or an invitation's role is answered only to whoever may read it
    (`access.shown_to`, the rule of the admin's role column and filter): a sales rep reads
    the members and their teams, not the roles, and is answered null in their place.
    `answered_null_to_some` names those fields, which the schema declares nullable in
    answers."""

    answered_null_to_some: tuple[str, ...] = ("role",)

    def to_representation(self, row):
        answer = super().to_representation(row)
        request = self.context.get("request")
        reader = getattr(request, "user", None)
        if access.shown_to(reader, row.role) is None:
            answer.update(dict.fromkeys(self.answered_null_to_some))
        return answer


class MemberSerializer(RoleAnsweredToReaders, ModelSerializer):
    """A member of the current organization: the user, with their membership (`role`:
    null to whoever may not read roles)."""

    id = serializers.UUIDField(source="user.id", read_only=True)
    email = EmailField(source="user.email", read_only=True)
    full_name = TextField(source="user.full_name", read_only=True)
    is_staff = BooleanField(source="user.is_staff", read_only=True)
    membership_id = serializers.UUIDField(source="id", read_only=True)
    role = RoleSummarySerializer(read_only=True)
    team = TeamSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "email",
            "full_name",
            "is_staff",
            "membership_id",
            "role",
            "team",
            "is_active",
            "joined_at",
        ]
        read_only_fields = fields


PROFILE_FIELDS = ("full_name", "email", "password", "is_staff", "is_superuser")


class RefusesProfileFields:
    """A user's global profile is theirs (ADR 0011): a profile field given to an
    organization's write is refused saying so, not as an unknown field, even where the
    answer shows it (a member's name)."""

    def answered_fields(self) -> set[str]:
        return super().answered_fields() - set(PROFILE_FIELDS)

    def unknown_field_message(self, name: str) -> str:
        if name in PROFILE_FIELDS:
            return "A user's profile belongs to the user; it cannot be set here."
        return super().unknown_field_message(name)


class MemberInviteSerializer(RefusesProfileFields, Serializer):
    """Invite a person by email; they join when they accept the emailed link."""

    email = EmailField()
    role = PrimaryKeyRelatedField(queryset=ROLES, help_text=ROLE_HELP)
    team = PrimaryKeyRelatedField(queryset=TEAMS, required=False, allow_null=True)


class InvitationListSerializer(serializers.ListSerializer):
    """A page of invitations, their statuses decided at once (`invitation_statuses`)."""

    def to_representation(self, data):
        rows = list(data.all() if hasattr(data, "all") else data)
        self._context["invitation_statuses"] = invitations.invitation_statuses(rows)
        return super().to_representation(rows)


class InvitationSerializer(RoleAnsweredToReaders, ModelSerializer):
    """An invitation (`role`: null to whoever may invite but not read roles)."""

    role = RoleSummarySerializer(read_only=True)
    team = TeamSummarySerializer(read_only=True, allow_null=True)
    status = serializers.SerializerMethodField(
        help_text="`pending`: its link works. `lapsed`: open, but its sender may no longer"
        " send it (their membership or role changed), so its link is refused; it stands"
        " again if they may send it again."
    )

    class Meta:
        model = Invitation
        list_serializer_class = InvitationListSerializer
        fields = [
            "id",
            "email",
            "role",
            "team",
            "status",
            "invited_by",
            "expires_at",
            "accepted_at",
            "revoked_at",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=InvitationStatus.choices))
    def get_status(self, invitation) -> str:
        statuses = self.context.get("invitation_statuses")
        if statuses is None:
            statuses = invitations.invitation_statuses([invitation])
        return statuses[invitation.pk]


class InvitationAcceptSerializer(Serializer):
    token = TextField(max_length=1000)
    full_name = NameField(
        max_length=200, required=False, allow_blank=True, help_text="A new account's name."
    )
    password = TextField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        help_text="A new account's password (an existing account signs in instead).",
    )


class InvitationAcceptedSerializer(Serializer):
    organization = OrganizationSummarySerializer()
    membership = serializers.UUIDField()
    email = EmailField()


class MemberUpdateSerializer(RefusesProfileFields, Serializer):
    """What an organization changes of a member: the membership, never the profile."""

    role = PrimaryKeyRelatedField(queryset=ROLES, required=False, help_text=ROLE_HELP)
    team = PrimaryKeyRelatedField(queryset=TEAMS, required=False, allow_null=True)
    is_active = BooleanField(required=False)


class MeUpdateSerializer(Serializer):
    """What one changes of one's own profile: one's name and time zone. Any other field
    given (the email, the platform flags, a name the API does not know) is refused, never
    ignored with a 200 that changed nothing."""

    full_name = NameField(max_length=200, allow_blank=True)
    time_zone = TextField(
        max_length=64,
        allow_blank=True,
        help_text="Where you read and type times in the back office, in every organization:"
        " an IANA name such as America/New_York; blank for each organization's own. The API"
        " answers in UTC whatever it is.",
    )

    def validate_time_zone(self, value: str) -> str:
        if value:  # blank: each organization's own zone
            time_zones.validate_chosen(value, self.context["user"].time_zone)
        return value

    def unknown_field_message(self, name: str) -> str:
        return "Not a field you may change here: only full_name and time_zone."


class PasswordChangeSerializer(Serializer):
    current_password = TextField(write_only=True, trim_whitespace=False)
    new_password = TextField(write_only=True, trim_whitespace=False)
    revoke_api_tokens = BooleanField(
        write_only=True,
        default=False,
        help_text="Also revoke your API tokens in every organization (each audited as "
        "token.revoked), but the token this request is made with. A token made with a "
        "stolen password keeps working after the password changes otherwise.",
    )


class MembershipSerializer(RoleAnsweredToReaders, ModelSerializer):
    """A membership (`role` and `role_name`: null to whoever may not read roles)."""

    answered_null_to_some = ("role", "role_name")

    user = UserSummarySerializer(read_only=True)
    role = PrimaryKeyRelatedField(queryset=ROLES, help_text=ROLE_HELP)
    role_name = TextField(source="role.name", read_only=True)
    team = PrimaryKeyRelatedField(queryset=TEAMS, required=False, allow_null=True)
    invited_by = PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "user",
            "role",
            "role_name",
            "team",
            "is_active",
            "invited_by",
            "joined_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "joined_at", "created_at", "updated_at"]


class TeamSerializer(ModelSerializer):
    manager = MemberField(required=False, allow_null=True)

    class Meta:
        model = Team
        fields = ["id", "name", "manager", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


# Roles


class PermissionSerializer(Serializer):
    resource = serializers.ChoiceField(choices=Resource.choices)
    action = serializers.ChoiceField(choices=Action.choices)
    scope = serializers.ChoiceField(choices=Scope.choices)

    def validate(self, attrs):
        # A PATCH makes DRF skip missing fields, nested ones included; a permission listed
        # in a PATCH is still a whole one.
        missing = {name: ["This field is required."] for name in self.fields if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing, code="required")
        return attrs


# A role grants each resource and action once: no longer list is a role.
MAX_PERMISSIONS = len(Resource.choices) * len(Action.choices)


class RoleSerializer(ModelSerializer):
    slug = SlugField(max_length=80, required=False)
    permissions = PermissionSerializer(many=True, max_length=MAX_PERMISSIONS)

    class Meta:
        model = Role
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "is_system",
            "back_office",
            "permissions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "is_system", "created_at", "updated_at"]

    def validate_permissions(self, permissions):
        grants = {}
        for item in permissions:
            key = (item["resource"], item["action"])
            if key in grants:
                raise serializers.ValidationError(f"{key[0]}:{key[1]} is listed twice.")
            grants[key] = item["scope"]
        return grants


# Audit log


class AuditLogSerializer(ModelSerializer):
    class Meta:
        model = AuditLog
        fields = [
            "id",
            "action",
            "actor",
            "actor_email",
            "target_type",
            "target_id",
            "ip_address",
            "user_agent",
            "request_id",
            "details",
            "created_at",
        ]
        read_only_fields = fields
