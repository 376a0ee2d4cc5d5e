"""The accounts API: tokens, /me, sessions, organizations, members, memberships, teams,
roles and the audit log. Views stay thin: writes are `accounts.services` calls."""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import invitations, login_guard, services, two_factor
from accounts.api import serializers as s
from accounts.device_sessions import keep_signed_in
from accounts.models import (
    APIToken,
    AuditLog,
    Invitation,
    Membership,
    Organization,
    Role,
    Team,
    UserSession,
)
from accounts.tenancy import (
    choose_membership,
    confined_organization,
    reachable_memberships,
    user_memberships,
)
from smartweb import access
from smartweb.api.filters import FilterBackend, FilterSet
from smartweb.api.pagination import LargeListCursorPagination
from smartweb.api.permissions import HasResourcePermission
from smartweb.api.schema import ERROR
from smartweb.api.viewsets import (
    DeclaredParametersOnly,
    OrganizationContextMixin,
    TenantModelViewSet,
    TenantReadOnlyViewSet,
)
from smartweb.rbac import Action, Resource
from smartweb.tenancy import context
from smartweb.tenancy.context import current_membership, current_organization_id, tenant_context


def _error(status_code: int, code: str, message: str, *, details=None, headers=None) -> Response:
    """An error in the API's shape, returned (not raised) so that the request's transaction
    commits: failed and locked logins must stay counted and audited."""
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status=status_code, headers=headers)


# Tokens


def _second_factor_refusal(request, user, code: str) -> Response | None:
    """None when `code` passes the user's second factor; else the refusal."""
    if not two_factor.is_enrolled(user):
        return _error(
            status.HTTP_403_FORBIDDEN,
            "second_factor_enrolment_required",
            "Your organization requires two-factor authentication: set it up in the back "
            "office (Two-factor) before creating a token.",
        )
    if not code:
        return _error(
            status.HTTP_401_UNAUTHORIZED,
            "second_factor_required",
            "Send the code of your second factor as otp_code.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    try:
        device = two_factor.verify(request, user, code)
    except login_guard.LoginLocked as locked:
        return _locked(locked)
    if device is None:
        return _error(
            status.HTTP_401_UNAUTHORIZED,
            "second_factor_invalid",
            "The code of your second factor is not valid, or was used already.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    return None


def _sso_refusal(request, user) -> Response | None:
    """An organization of the user requires its identity provider: no password tokens."""
    from sso import policy  # an app above accounts: imported when used

    required = policy.requiring_organizations(user)
    if not required:
        return None
    policy.audit_password_refused(request, user, required, method="api_token")
    return _error(
        status.HTTP_403_FORBIDDEN,
        "sso_required",
        "Your organization requires sign-in through its identity provider: sign in with it "
        "in the back office, then create a token with POST /api/v1/auth/sso-token/.",
    )


def _locked(locked) -> Response:
    return _error(
        status.HTTP_429_TOO_MANY_REQUESTS,
        "login_locked",
        "Too many failed logins. Try again later.",
        details={"retry_after": locked.retry_after},
        headers={"Retry-After": str(locked.retry_after)},
    )


def token_issued(
    request, user, membership, data, *, sso_authorized: bool = False, second_factor: bool = False
) -> Response:
    """Create a token of `membership`'s organization for `user` (name and lifetime from
    `data`) and answer with it: the one place a new token's secret is shown."""
    token, raw = services.token_create(
        user=user,
        organization_id=membership.organization_id,
        name=data["name"],
        expires_in_days=data["expires_in_days"],
        sso_authorized=sso_authorized,
        second_factor=second_factor,
        request=request,
    )
    body = {
        "token": raw,
        "id": token.pk,
        "organization": membership.organization_id,
        "expires_at": token.expires_at,
    }
    return Response(s.TokenIssuedSerializer(body).data, status=status.HTTP_201_CREATED)


class TokenObtainView(DeclaredParametersOnly, APIView):
    """Exchange email and password for an API token of one organization."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=s.TokenObtainSerializer,
        responses={201: s.TokenIssuedSerializer, 403: ERROR, 429: ERROR},
    )
    def post(self, request):
        serializer = s.TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        requested = data.get("organization") or None
        try:
            user = login_guard.check_credentials(
                request, email=data["email"], password=data["password"], organization=requested
            )
        except login_guard.LoginLocked as locked:
            return _locked(locked)
        if user is None:
            return _error(
                status.HTTP_401_UNAUTHORIZED,
                "authentication_failed",
                "Invalid email or password.",
                headers={"WWW-Authenticate": 'Bearer realm="api"'},
            )
        second_factor = two_factor.needed_at_sign_in(user)
        refused = _sso_refusal(request, user) or (
            second_factor and _second_factor_refusal(request, user, data.get("otp_code", ""))
        )
        if refused:
            return refused
        # No organization context yet: the user's own memberships are visible to choose from.
        context.activate(organization_id=None, user=user)
        membership = choose_membership(user, requested)
        if membership is None:
            raise PermissionDenied("You are not a member of any organization.")
        context.activate(
            organization_id=membership.organization_id, user=user, membership=membership
        )
        login_guard.login_succeeded(
            request, user, organization_id=membership.organization_id, method="api_token"
        )
        return token_issued(request, user, membership, data, second_factor=second_factor)


class TokenRevokeView(OrganizationContextMixin, APIView):
    """Revoke the token of this request, or a token of yours by id."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=s.TokenRevokeSerializer, responses={200: s.TokenSerializer, 404: ERROR})
    def post(self, request):
        serializer = s.TokenRevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token_id = serializer.validated_data.get("id")
        if token_id is not None:
            token = get_object_or_404(APIToken.objects.filter(user=request.user), pk=token_id)
        elif isinstance(request.auth, APIToken):
            token = request.auth
        else:
            raise ValidationError({"id": "Name the token to revoke: this request uses none."})
        token = services.token_revoke(token=token, acting_user=request.user, request=request)
        return Response(s.TokenSerializer(token, context={"request": request}).data)


class TokenViewSet(OrganizationContextMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your API tokens in this organization (never their secret or hash)."""

    serializer_class = s.TokenSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self):
        return (
            APIToken.objects.filter(user=self.request.user)
            .select_related("user", "organization")
            .order_by("-created_at")
        )


# The signed-in user


class MeView(OrganizationContextMixin, APIView):
    """The user, their memberships in every organization, the current organization and
    the effective permissions there (resource -> action -> scope)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        user = request.user
        membership = current_membership()
        me = {
            "user": user,
            "organization": getattr(request._request, "organization", None),
            "membership": membership.pk if membership else None,
            "memberships": [self._with_role(user, m) for m in reachable_memberships(user)],
            "permissions": self._permissions(user),
        }
        return Response(s.MeSerializer(me).data)

    @extend_schema(request=s.MeUpdateSerializer, responses=s.MeSerializer)
    def patch(self, request):
        """Change your own profile (your name, your time zone in the back office); it is the
        same in every organization."""
        serializer = s.MeUpdateSerializer(
            data=request.data, partial=True, context={"user": request.user}
        )
        serializer.is_valid(raise_exception=True)
        services.user_update(
            user=request.user, changes=serializer.validated_data, acting_user=request.user
        )
        request.user.refresh_from_db()  # the service wrote the row as stored, not this one
        return self.get(request)

    @staticmethod
    def _with_role(user, membership: Membership) -> Membership:
        # Roles are tenant rows: read each in its own organization, where the user is a member.
        with tenant_context(membership.organization_id, user=user):
            membership.role_in_own_organization = Role.all_objects.filter(
                pk=membership.role_id
            ).first()
        return membership

    @staticmethod
    def _permissions(user) -> dict:
        granted: dict[str, dict[str, str]] = {}
        for resource in Resource:
            for act in Action:
                scope = access.scope_for(user, act, resource)
                if scope is not None:
                    granted.setdefault(resource.value, {})[act.value] = scope.value
        return granted


class PasswordChangeView(OrganizationContextMixin, APIView):
    """Change your own password: the current one is asked for. Your other devices are
    signed out; with `revoke_api_tokens`, your other API tokens are revoked too."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=s.PasswordChangeSerializer, responses={204: None, 429: ERROR})
    def post(self, request):
        serializer = s.PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.password_change(
                user=request.user,
                current_password=serializer.validated_data["current_password"],
                new_password=serializer.validated_data["new_password"],
                revoke_api_tokens=serializer.validated_data["revoke_api_tokens"],
                request=request,
            )
        except login_guard.LoginLocked as locked:
            return _locked(locked)
        if request.auth is None:
            # Signed in by this session: it stays signed in, the others end.
            keep_signed_in(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionViewSet(OrganizationContextMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your signed-in browser sessions; revoking one signs that device out."""

    serializer_class = s.SessionSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list = []
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        return UserSession.objects.filter(user=self.request.user).order_by("-last_seen_at")

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        session = services.session_revoke(
            session=self.get_object(), acting_user=request.user, request=request
        )
        return Response(self.get_serializer(session).data)


# Organizations


class OrganizationPermission(HasResourcePermission):
    """Creating organizations is for platform super admins. Other writes act on the
    current organization only, which the queryset ensures."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if view.action == "create" or access.platform_admin(request):
            return access.platform_admin(request)
        if view.action in ("update", "partial_update"):
            return services.may_change_organization(user)
        return super().has_permission(request, view)

    def has_object_permission(self, request, view, obj):
        return True


class OrganizationViewSet(
    OrganizationContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Your organizations. Changes apply to the current one (X-Organization)."""

    resource = Resource.ORGANIZATIONS
    serializer_class = s.OrganizationSerializer
    permission_classes = [OrganizationPermission]
    filter_backends: list = []
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        user = self.request.user
        if self.action in ("list", "retrieve"):
            if access.platform_admin(self.request):
                return Organization.objects.all()
            if confined_organization(self.request) is None:
                member_of = user_memberships(user).filter(is_active=True).values("organization_id")
                return Organization.objects.filter(
                    Q(pk__in=member_of) | Q(pk=current_organization_id())
                )
        return Organization.objects.filter(pk=current_organization_id())

    def get_serializer_class(self):
        return s.OrganizationCreateSerializer if self.action == "create" else self.serializer_class

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = services.organization_create(
            name=data["name"],
            slug=data.get("slug") or None,
            plan=data["plan"],
            time_zone=data["time_zone"],
            admin_email=data["admin_email"],
            admin_password=data.get("admin_password") or None,
            acting_user=request.user,
        )
        return Response(s.OrganizationSerializer(organization).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = services.organization_update(
            organization=serializer.instance,
            changes=serializer.validated_data,
            acting_user=self.request.user,
        )


# People


class AccountsViewSet(TenantModelViewSet):
    """Accounts rows change only through audited services, so there is no generic
    restore of soft-deleted rows: invite again, or create the team or role again.

    `queryset` is the model's manager: the default managers are scoped to the organization
    of the request, so the queryset must be built per request (`base_queryset`).
    """

    restore = None


def invite(request, data) -> Response:
    """Invite by email: the same answer whether or not the email has an account."""
    invitation = invitations.invitation_create(
        email=data["email"],
        role=data["role"],
        team=data.get("team"),
        acting_user=request.user,
        link=invitations.link_for(request),
        request=request,
    )
    answer = s.InvitationSerializer(invitation, context={"request": request}).data
    return Response(answer, status=status.HTTP_202_ACCEPTED)


class UserViewSet(AccountsViewSet):
    """Members of the current organization. `POST` invites a person by email (they join
    when they accept, see /invitations/); changes are of the membership (role, team,
    active), never of the person's profile, which is theirs (/me/)."""

    queryset = Membership.objects
    serializer_class = s.MemberSerializer
    lookup_field = "user_id"
    lookup_url_kwarg = "pk"
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    action_permissions = {"deactivate": Action.UPDATE, "activate": Action.UPDATE}
    filterset_fields = ["is_active", "role", "team"]
    ordering_fields = ["joined_at", "user__email", "user__full_name"]

    def base_queryset(self):
        return Membership.objects.select_related("user", "role", "team").order_by("joined_at")

    def get_serializer_class(self):
        if self.action == "create":
            return s.MemberInviteSerializer
        if self.action in ("update", "partial_update"):
            return s.MemberUpdateSerializer
        return s.MemberSerializer

    @extend_schema(responses={202: s.InvitationSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return invite(request, serializer.validated_data)

    @extend_schema(responses=s.MemberSerializer)
    def update(self, request, *args, **kwargs):
        membership = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        membership = services.membership_update(
            membership=membership, changes=serializer.validated_data, acting_user=request.user
        )
        return Response(s.MemberSerializer(membership, context=self.get_serializer_context()).data)

    @extend_schema(responses=s.MemberSerializer)
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def _set_active(self, is_active: bool) -> Response:
        membership = services.membership_update(
            membership=self.get_object(),
            changes={"is_active": is_active},
            acting_user=self.request.user,
        )
        return Response(s.MemberSerializer(membership, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=s.MemberSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self._set_active(False)

    @extend_schema(request=None, responses=s.MemberSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._set_active(True)


class MembershipViewSet(AccountsViewSet):
    """Memberships of the current organization: role, team and active flag. People join
    through `POST /users/` (invite)."""

    queryset = Membership.objects
    serializer_class = s.MembershipSerializer
    http_method_names = ["get", "put", "patch", "delete", "head", "options"]
    filterset_fields = ["is_active", "role", "team", "user"]
    ordering_fields = ["joined_at"]

    def base_queryset(self):
        return Membership.objects.select_related("user", "role").order_by("joined_at")

    def perform_update(self, serializer):
        serializer.instance = services.membership_update(
            membership=serializer.instance,
            changes=serializer.validated_data,
            acting_user=self.request.user,
        )

    def perform_destroy(self, instance):
        services.membership_delete(membership=instance, acting_user=self.request.user)


class InvitationViewSet(
    OrganizationContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Invitations of the current organization, for whoever may invite (users:create):
    list, invite (as `POST /users/`), revoke."""

    queryset = Invitation.objects
    serializer_class = s.InvitationSerializer
    permission_classes = [HasResourcePermission]
    action_permissions = {
        "list": Action.CREATE,
        "retrieve": Action.CREATE,
        "create": Action.CREATE,
        "revoke": Action.CREATE,
    }
    filterset_fields = ["email"]
    ordering_fields = ["created_at", "expires_at"]
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        queryset = Invitation.objects.select_related("role", "team").order_by("-created_at")
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return access.visible(self.request.user, Action.CREATE, queryset, Resource.USERS)

    def get_serializer_class(self):
        return s.MemberInviteSerializer if self.action == "create" else self.serializer_class

    @extend_schema(responses={202: s.InvitationSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return invite(request, serializer.validated_data)

    @extend_schema(request=None, responses=s.InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        invitation = invitations.invitation_revoke(
            invitation=self.get_object(), acting_user=request.user
        )
        return Response(self.get_serializer(invitation).data)


class InvitationAcceptView(DeclaredParametersOnly, APIView):
    """Accept an invitation with the token of its link. A new email creates its account
    (`full_name`, `password`); an existing account must be signed in as itself."""

    permission_classes = [permissions.AllowAny]

    # 403: signed in as another account; 409: accepted twice at once.
    @extend_schema(
        request=s.InvitationAcceptSerializer,
        responses={201: s.InvitationAcceptedSerializer, 403: ERROR, 409: ERROR},
    )
    def post(self, request):
        serializer = s.InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request.user if request.user.is_authenticated else None
        membership = invitations.invitation_accept(
            token=data["token"],
            user=user,
            full_name=data.get("full_name", ""),
            password=data.get("password") or None,
            request=request,
        )
        body = {
            "organization": Organization.objects.get(pk=membership.organization_id),
            "membership": membership.pk,
            "email": membership.user.email,
        }
        return Response(s.InvitationAcceptedSerializer(body).data, status=status.HTTP_201_CREATED)


class TeamViewSet(AccountsViewSet):
    queryset = Team.objects
    serializer_class = s.TeamSerializer
    filterset_fields = ["manager"]
    ordering_fields = ["name", "created_at"]

    def base_queryset(self):
        return Team.objects.order_by("name")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.team_create(
            name=data["name"], manager=data.get("manager"), acting_user=self.request.user
        )

    def perform_update(self, serializer):
        serializer.instance = services.team_update(
            team=serializer.instance,
            changes=serializer.validated_data,
            acting_user=self.request.user,
        )

    def perform_destroy(self, instance):
        services.team_delete(team=instance, acting_user=self.request.user)


# Roles


class CustomRolesOnly(permissions.BasePermission):
    message = "The default roles are read-only; create a custom role."

    def has_object_permission(self, request, view, obj):
        return request.method in permissions.SAFE_METHODS or not obj.is_system


class RoleViewSet(AccountsViewSet):
    """Roles and their permissions ({resource, action, scope}). The default roles are
    read-only; custom roles grant at most what the person creating them holds."""

    queryset = Role.objects
    serializer_class = s.RoleSerializer
    permission_classes = [HasResourcePermission, CustomRolesOnly]
    filterset_fields = ["is_system", "slug"]
    ordering_fields = ["name", "created_at"]

    def base_queryset(self):
        return Role.objects.prefetch_related("permissions").order_by("name")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.role_create(
            name=data["name"],
            slug=data.get("slug"),
            description=data.get("description", ""),
            back_office=data.get("back_office", True),
            grants=data["permissions"],
            acting_user=self.request.user,
        )

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        grants = changes.pop("permissions", None)
        role = services.role_update(
            role=serializer.instance, changes=changes, acting_user=self.request.user
        )
        if grants is not None:
            services.role_set_permissions(role=role, grants=grants, acting_user=self.request.user)
        # Re-read, so the response shows the permissions just written.
        serializer.instance = self.get_queryset().get(pk=role.pk)

    def perform_destroy(self, instance):
        services.role_delete(role=instance, acting_user=self.request.user)


# Audit log


class AuditLogFilter(FilterSet):
    action = django_filters.CharFilter(help_text="An event name such as auth.login_failed.")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    actor = django_filters.UUIDFilter(field_name="actor_id")
    target_id = django_filters.CharFilter()

    class Meta:
        model = AuditLog
        fields = ["action", "since", "until", "actor", "target_id"]


class AuditLogViewSet(TenantReadOnlyViewSet):
    """The security audit log of the current organization, newest first."""

    queryset = AuditLog.objects
    serializer_class = s.AuditLogSerializer
    pagination_class = LargeListCursorPagination
    filter_backends = [FilterBackend]
    filterset_class = AuditLogFilter
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        return super().get_queryset().filter(organization_id=current_organization_id())
