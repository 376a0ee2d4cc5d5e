"""Back office of the accounts domain: an organization admin manages the people, teams,
roles, tokens and audit log of the current organization only; platform super admins also
see every user and organization.

Every write goes through `accounts.services` (audited, checked); the forms run the same
checks first, so a refused change is a form error.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import forms, invitations, services
from accounts.models import (
    APIToken,
    AuditLog,
    Invitation,
    InvitationStatus,
    Membership,
    Organization,
    Role,
    RolePermission,
    Team,
    User,
)
from accounts.selectors import member_users
from smartweb import access
from smartweb.admin import (
    HistoryNotChangeLogMixin,
    MissingRowIs404Mixin,
    ReadOnlyAdminMixin,
    RefusalsShownMixin,
    TenantModelAdmin,
    TenantOwnedModelAdmin,
    adopt,
)
from smartweb.admin_pages import PageShownMixin
from smartweb.admin_readers import NamedToReadersMixin
from smartweb.admin_versions import VersionedRowsInlineMixin
from smartweb.forms import form_changes
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import current_organization_id

admin.site.login_form = forms.LoginForm
# django-otp registers its devices' pages: every user's secrets in one global list. A
# user manages their own second factor on the Two-factor page (accounts.two_factor_views).
admin.site.unregister([TOTPDevice, StaticDevice])


def _passes(check, **kwargs) -> bool:
    try:
        check(**kwargs)
    except (ValidationError, PermissionDenied):
        return False
    return True


class MemberChoicesMixin:
    """Foreign keys to users offer only members of the current organization."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is User:
            kwargs["queryset"] = member_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AccountsAdmin(MemberChoicesMixin, TenantOwnedModelAdmin):
    """Soft-deleted rows are shown, not edited (`TenantOwnedModelAdmin`) or restored; there
    are no bulk deletes and no history reverts, which would bypass the audited services."""

    actions: list = []

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def revert_disabled(self, request, obj=None):
        return True


@admin.register(Team)
class TeamAdmin(AccountsAdmin):
    form = forms.TeamForm
    list_display = ["name", "manager", "created_at"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        # Who manages a team is an admin's decision, its name also its manager's.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not services.may_change_team_manager(request.user):
            fields.append("manager")
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            adopt(
                obj,
                services.team_update(
                    team=obj, changes=form_changes(form), acting_user=request.user
                ),
            )
        else:
            adopt(
                obj,
                services.team_create(
                    name=form.cleaned_data["name"],
                    manager=form.cleaned_data.get("manager"),
                    acting_user=request.user,
                ),
            )

    def delete_model(self, request, obj):
        services.team_delete(team=obj, acting_user=request.user)


def _role_changeable(request, role) -> bool:
    """Default roles are fixed, and a role granting more than the user's own is theirs
    to read only."""
    return not role.is_system and _passes(
        services.role_change_check, role=role, acting_user=request.user
    )


class RolePermissionInline(VersionedRowsInlineMixin, admin.TabularInline):
    model = RolePermission
    formset = forms.RolePermissionFormSet
    fields = ["resource", "action", "scope"]
    extra = 0

    def _can(self, request, action, role) -> bool:
        if role is not None and not _role_changeable(request, role):
            return False
        return access.can(request.user, action, Resource.ROLES, obj=role)

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, Action.READ, Resource.ROLES, obj=obj)

    def has_add_permission(self, request, obj=None):
        return self._can(request, Action.UPDATE if obj else Action.CREATE, obj)

    def has_change_permission(self, request, obj=None):
        return self._can(request, Action.UPDATE, obj)

    def has_delete_permission(self, request, obj=None):
        return self._can(request, Action.UPDATE, obj)


@admin.register(Role)
class RoleAdmin(AccountsAdmin):
    """Custom roles and their permissions; the default (system) roles are read-only."""

    form = forms.RoleForm
    inlines = [RolePermissionInline]
    list_display = ["name", "slug", "is_system", "created_at"]
    list_filter = ["is_system"]
    search_fields = ["name", "slug"]

    def has_change_permission(self, request, obj=None):
        return (obj is None or _role_changeable(request, obj)) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not _passes(
            services.role_delete_check, role=obj, acting_user=request.user
        ):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # A new role is made with its permissions, at once (`save_related`).
        if change:
            adopt(
                obj,
                services.role_update(
                    role=obj, changes=form_changes(form), acting_user=request.user
                ),
            )

    def save_related(self, request, form, formsets, change):
        if not change:
            # Its permissions are part of creating it (roles:create), not a change of it.
            grants = {key: scope for formset in formsets for key, scope in formset.grants().items()}
            adopt(
                form.instance,
                services.role_create(
                    name=form.cleaned_data["name"],
                    slug=form.cleaned_data["slug"],
                    description=form.cleaned_data.get("description", ""),
                    back_office=form.cleaned_data.get("back_office", True),
                    grants=grants,
                    acting_user=request.user,
                ),
            )
        super().save_related(request, form, formsets, change)

    def save_formset(self, request, form, formset, change):
        if change and formset.has_changed():
            services.role_set_permissions(
                role=form.instance, grants=formset.grants(), acting_user=request.user
            )
        # The service replaced the rows; the admin's change message lists none of them.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        services.role_delete(role=obj, acting_user=request.user)


@admin.register(Membership)
class MembershipAdmin(NamedToReadersMixin, AccountsAdmin):
    """Role, team and active flag of each member. People join from the Users page. A
    member's role is named only to whoever may read it (a sales rep reads the members,
    not the roles)."""

    form = forms.MembershipForm
    named_to_readers = ("role",)
    list_display = ["user", "role", "team", "is_active", "joined_at"]
    list_filter = ["is_active", "role", "team"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user", "role", "team"]
    readonly_fields = ["user", "invited_by", "joined_at"]
    fields = ["user", "role", "team", "is_active", "invited_by", "joined_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A member the editor may not change (a role granting more than theirs) is shown,
        # not offered a form whose every save, unchanged too, is refused.
        if obj is not None and not _passes(
            services.membership_check, membership=obj, changes={}, acting_user=request.user
        ):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not _passes(
            services.membership_delete_check, membership=obj, acting_user=request.user
        ):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        adopt(
            obj,
            services.membership_update(
                membership=obj, changes=form_changes(form), acting_user=request.user
            ),
        )

    def delete_model(self, request, obj):
        services.membership_delete(membership=obj, acting_user=request.user)


def _token_status(request, token) -> str:
    """The token's status (sso.policy.token_status); the organization's identity provider
    is read once per page."""
    from sso import policy  # an app above accounts: imported when used

    if not hasattr(request, "_sso_provider"):
        request._sso_provider = policy.provider_of(current_organization_id())
    return policy.token_status(token, request._sso_provider)


class TokenStatusFilter(admin.SimpleListFilter):
    """By status, "needs single sign-on" included: decided per token by the provider's
    domains and list (an organization's tokens are few)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        from sso.policy import TOKEN_STATUS_LABELS

        return list(TOKEN_STATUS_LABELS.items())

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        tokens = queryset.select_related("user", "organization")
        return queryset.filter(
            pk__in=[t.pk for t in tokens if _token_status(request, t) == self.value()]
        )


@admin.register(APIToken)
class APITokenAdmin(TenantModelAdmin):
    """Tokens are managed by people who may change users; only their prefix is shown.
    Where the organization requires single sign-on, a covered member's token not created
    through the provider shows "Needs single sign-on": it is refused, not deleted."""

    list_display = ["name", "user", "key_prefix", "status", "created_at", "expires_at"]
    list_filter = [TokenStatusFilter]
    search_fields = ["name", "user__email", "key_prefix"]
    list_select_related = ["user", "organization"]
    fields = [
        "name",
        "user",
        "key_prefix",
        "status",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "sso_authorized_at",
        "confined",
        "sso_refused_at",
        "second_factor_at",
    ]
    readonly_fields = fields
    actions = ["revoke_selected"]

    # The status needs the organization's provider, read once per request: it is set on
    # the shown tokens here rather than read by the display method for each row.
    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        for token in changelist.result_list:
            token.status_shown = _token_status(request, token)
        return changelist

    def get_object(self, request, object_id, from_field=None):
        token = super().get_object(request, object_id, from_field)
        if token is not None:
            token.status_shown = _token_status(request, token)
        return token

    @admin.display(description="status")
    def status(self, obj):
        from sso.policy import TOKEN_STATUS_LABELS

        return TOKEN_STATUS_LABELS[obj.status_shown]

    def get_queryset(self, request):
        return access.visible(request.user, Action.UPDATE, APIToken.objects.all())

    def has_module_permission(self, request):
        return access.can(request.user, Action.UPDATE, self.resource)

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, Action.UPDATE, self.resource, obj=obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Only the revoke action changes tokens; the page of one token is read-only.
        return obj is None and access.can(request.user, Action.UPDATE, self.resource)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            services.token_revoke(token=token, acting_user=request.user, request=request)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """The security audit log of the current organization: read-only, append-only."""

    list_display = ["created_at", "action", "actor_email", "target_type", "target_id", "ip_address"]
    list_filter = ["action"]
    search_fields = ["actor_email", "target_id", "action"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "action",
        "actor",
        "actor_email",
        "target_type",
        "target_id",
        "ip_address",
        "user_agent",
        "details",
    ]
    readonly_fields = fields

    def base_queryset(self):
        return AuditLog.objects.filter(organization_id=current_organization_id())


@admin.register(Organization)
class OrganizationAdmin(
    PageShownMixin, MissingRowIs404Mixin, HistoryNotChangeLogMixin, admin.ModelAdmin
):
    """An organization admin sees and edits their current organization; platform super
    admins (`access.platform_admin`: not on a session confined to one organization) see
    all. New organizations: `manage.py create_organization` or the API."""

    form = forms.OrganizationForm
    list_display = ["name", "slug", "plan", "is_active", "created_at"]
    search_fields = ["name", "slug"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if access.platform_admin(request):
            return queryset
        return queryset.filter(pk=current_organization_id())

    def _may(self, request, action, obj) -> bool:
        if access.platform_admin(request):
            return True
        if obj is not None and obj.pk != current_organization_id():
            return False
        if action == Action.UPDATE:
            return services.may_change_organization(request.user)
        return access.can(request.user, action, Resource.ORGANIZATIONS)

    def has_module_permission(self, request):
        return self._may(request, Action.READ, None)

    def has_view_permission(self, request, obj=None):
        return self._may(request, Action.READ, obj)

    def has_change_permission(self, request, obj=None):
        return self._may(request, Action.UPDATE, obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if access.platform_admin(request):
            return ["name", "slug", "plan", "is_active", "time_zone", "settings", "created_at"]
        return ["name", "slug", "plan", "time_zone", "settings", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if access.platform_admin(request):
            return ["slug", "created_at"]
        return ["slug", "plan", "created_at"]

    def save_model(self, request, obj, form, change):
        services.organization_update(
            organization=Organization.objects.get(pk=obj.pk),
            changes=form_changes(form),
            acting_user=request.user,
        )


@admin.register(User)
class UserAdmin(
    PageShownMixin,
    MissingRowIs404Mixin,
    HistoryNotChangeLogMixin,
    RefusalsShownMixin,
    DjangoUserAdmin,
):
    """Members of the current organization, read-only: a user is global and their
    profile is theirs (ADR 0011). Each user edits their own name and time zone (and
    password, asking for the current one); platform super admins
    (`access.platform_admin`) see and edit every user, but not the platform flags, which
    the database keeps to the operator. People join through
    Invitations; their role, team and active flag are on the Memberships page."""

    form = forms.PlatformUserChangeForm
    # Another user's password, for platform super admins: with the choice to revoke
    # their API tokens too.
    change_password_form = forms.PlatformPasswordResetForm
    change_user_password_template = "admin/accounts/user/change_password.html"  # noqa: S105 (a path)
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "last_login"]
    list_filter = ["is_active"]
    search_fields = ["email", "full_name"]
    filter_horizontal: list = []
    platform_readonly = ["is_staff", "is_superuser", "last_login", "date_joined"]

    def _own(self, request, obj) -> bool:
        return obj is not None and obj.pk == request.user.pk

    def get_fieldsets(self, request, obj=None):
        if access.platform_admin(request):
            fields = [*forms.PlatformUserChangeForm.Meta.fields, *self.platform_readonly]
        elif self._own(request, obj):
            fields = ["email", "full_name", "time_zone", "last_login", "date_joined"]
        else:
            fields = ["email", "full_name", "last_login", "date_joined"]
        return ((None, {"fields": fields}),)

    def get_readonly_fields(self, request, obj=None):
        if access.platform_admin(request):
            return self.platform_readonly
        if self._own(request, obj):
            return ["email", "last_login", "date_joined"]
        return ["email", "full_name", "last_login", "date_joined"]

    def get_form(self, request, obj=None, **kwargs):
        if not access.platform_admin(request):
            kwargs["form"] = forms.OwnProfileForm
        return super().get_form(request, obj, **kwargs)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if access.platform_admin(request):
            return queryset
        members = access.visible(request.user, Action.READ, Membership.objects.all())
        return queryset.filter(pk__in=members.values("user_id"))

    def _visible(self, request, obj) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request):
        return access.platform_admin(request) or access.can(
            request.user, Action.READ, Resource.USERS
        )

    def has_view_permission(self, request, obj=None):
        if access.platform_admin(request) or self._own(request, obj):
            return True
        return access.can(request.user, Action.READ, Resource.USERS) and self._visible(request, obj)

    def has_change_permission(self, request, obj=None):
        return access.platform_admin(request) or self._own(request, obj)

    def has_add_permission(self, request):
        # Nobody creates another person's account: organizations invite (Invitations).
        return False

    def has_delete_permission(self, request, obj=None):
        # A user may belong to other organizations: remove the membership instead.
        return False

    def user_change_password(self, request, id, form_url=""):
        if str(request.user.pk) == str(id):
            # One's own password: the page that asks for the current one (Django's form
            # here sets a new one without it).
            return HttpResponseRedirect(reverse("admin:password_change"))
        if not access.platform_admin(request):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        services.user_update(
            user=User.objects.get(pk=obj.pk),
            changes=form_changes(form),
            acting_user=request.user,
        )

    def save_related(self, request, form, formsets, change):
        # The service saved everything; users have no inlines or many-to-many here.
        return None


def _show_statuses(shown) -> None:
    """Set each shown invitation's `status_shown`, "lapsed" too (`invitation_statuses`)."""
    statuses = invitations.invitation_statuses(shown)
    for invitation in shown:
        invitation.status_shown = statuses[invitation.pk]


@admin.register(Invitation)
class InvitationAdmin(NamedToReadersMixin, TenantModelAdmin):
    """Invite people by email; they join when they accept the emailed link. Pending
    invitations may be revoked; none is edited. For whoever may invite (users:create).
    One whose sender may no longer send it reads "Lapsed": its link is refused (ADR 0011);
    it may be revoked, and stands again if its sender may send it again.
    An invitation's role is named only to whoever may read it, as a member's is (a custom
    role may invite without reading the roles)."""

    form = forms.InvitationForm
    named_to_readers = ("role",)
    list_display = ["email", "role", "team", "status", "invited_by", "expires_at", "created_at"]
    list_filter = ["role", "accepted_at", "revoked_at"]
    search_fields = ["email"]
    list_select_related = ["role", "team", "invited_by"]
    readonly_fields = ["status", "invited_by", "expires_at", "accepted_at", "revoked_at"]
    # A sent invitation's page; `NamedToReadersMixin` leaves out a role the user may not read.
    fields = ["email", "role", "team", *readonly_fields]
    actions = ["revoke_selected"]

    def get_fields(self, request, obj=None):
        return ["email", "role", "team"] if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return (
            self.readonly_fields
            if obj is None
            else ["email", "role", "team", *self.readonly_fields]
        )

    def get_queryset(self, request):
        return access.visible(request.user, Action.CREATE, self.base_queryset(), self.resource)

    # Whether a pending invitation stands is its sender's to decide: the shown ones' are
    # read at once (`invitation_statuses`), rather than by the column for each row.
    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        _show_statuses(changelist.result_list)
        return changelist

    def get_object(self, request, object_id, from_field=None):
        invitation = super().get_object(request, object_id, from_field)
        if invitation is not None:
            _show_statuses([invitation])
        return invitation

    @admin.display(description="status")
    def status(self, obj):
        return InvitationStatus(obj.status_shown).label

    def _may_invite(self, request, obj=None) -> bool:
        return access.can(request.user, Action.CREATE, self.resource, obj=obj)

    def has_module_permission(self, request):
        return self._may_invite(request)

    def has_view_permission(self, request, obj=None):
        return self._may_invite(request, obj)

    def has_add_permission(self, request):
        return self._may_invite(request)

    def has_change_permission(self, request, obj=None):
        # Only the revoke action changes invitations; the page of one is read-only.
        return obj is None and self._may_invite(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        adopt(
            obj,
            invitations.invitation_create(
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                team=form.cleaned_data.get("team"),
                acting_user=request.user,
                link=invitations.link_for(request),
                request=request,
            ),
        )

    @admin.action(description="Revoke selected invitations", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for invitation in queryset:
            if invitation.status != "pending":
                continue
            try:
                with transaction.atomic():
                    invitations.invitation_revoke(invitation=invitation, acting_user=request.user)
            except ValidationError:
                continue  # revoked or accepted meanwhile
            revoked += 1
        self.message_user(request, f"Revoked {revoked} invitation(s).", messages.SUCCESS)
