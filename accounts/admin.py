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

from accounts import forms, services
from accounts.models import (
    APIToken,
    AuditLog,
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
    ReadOnlyAdminMixin,
    RefusalsAsMessagesMixin,
    TenantModelAdmin,
    TenantOwnedModelAdmin,
    adopt,
)
from smartweb.forms import form_changes
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import current_organization_id

admin.site.login_form = forms.LoginForm


def _passes(check, **kwargs) -> bool:
    try:
        check(**kwargs)
    except ValidationError:
        return False
    return True


class MemberChoicesMixin:
    """Foreign keys to users offer only members of the current organization."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is User:
            kwargs["queryset"] = member_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AccountsAdmin(MemberChoicesMixin, TenantOwnedModelAdmin):
    """Soft-deleted rows are shown, not edited or restored; there are no bulk deletes and
    no history reverts, which would bypass the audited services."""

    actions: list = []

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def revert_disabled(self, request, obj=None):
        return True

    def has_change_permission(self, request, obj=None):
        return not (obj is not None and obj.is_deleted) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and obj.is_deleted) and super().has_delete_permission(
            request, obj
        )


@admin.register(Team)
class TeamAdmin(AccountsAdmin):
    form = forms.TeamForm
    list_display = ["name", "manager", "created_at"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        if change:
            services.team_update(
                team=obj,
                changes=form_changes(form),
                acting_user=request.user,
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


class RolePermissionInline(admin.TabularInline):
    model = RolePermission
    formset = forms.RolePermissionFormSet
    fields = ["resource", "action", "scope"]
    extra = 0

    def _can(self, request, action, role) -> bool:
        if role is not None and role.is_system:
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
        return not (obj is not None and obj.is_system) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not _passes(services.role_delete_check, role=obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            services.role_update(
                role=obj,
                changes=form_changes(form),
                acting_user=request.user,
            )
        else:
            adopt(
                obj,
                services.role_create(
                    name=form.cleaned_data["name"],
                    slug=form.cleaned_data["slug"],
                    description=form.cleaned_data.get("description", ""),
                    grants={},
                    acting_user=request.user,
                ),
            )

    def save_formset(self, request, form, formset, change):
        if formset.has_changed():
            services.role_set_permissions(
                role=form.instance, grants=formset.grants(), acting_user=request.user
            )
        # The service replaced the rows; the admin's change message lists none of them.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        services.role_delete(role=obj, acting_user=request.user)


@admin.register(Membership)
class MembershipAdmin(AccountsAdmin):
    """Role, team and active flag of each member. People join from the Users page."""

    form = forms.MembershipForm
    list_display = ["user", "role", "team", "is_active", "joined_at"]
    list_filter = ["is_active", "role", "team"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user", "role", "team"]
    readonly_fields = ["user", "invited_by", "joined_at"]
    fields = ["user", "role", "team", "is_active", "invited_by", "joined_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not _passes(services.membership_delete_check, membership=obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        services.membership_update(
            membership=obj,
            changes=form_changes(form),
            acting_user=request.user,
        )

    def delete_model(self, request, obj):
        services.membership_delete(membership=obj, acting_user=request.user)


@admin.register(APIToken)
class APITokenAdmin(TenantModelAdmin):
    """Tokens are managed by people who may change users; only their prefix is shown."""

    list_display = ["name", "user", "key_prefix", "created_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__email", "key_prefix"]
    list_select_related = ["user"]
    fields = [
        "name",
        "user",
        "key_prefix",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    readonly_fields = fields
    actions = ["revoke_selected"]

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
class OrganizationAdmin(admin.ModelAdmin):
    """An organization admin sees and edits their current organization; platform super
    admins see all. New organizations: `manage.py create_organization` or the API."""

    list_display = ["name", "slug", "plan", "is_active", "created_at"]
    search_fields = ["name", "slug"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk=current_organization_id())

    def _may(self, request, action, obj) -> bool:
        if request.user.is_superuser:
            return True
        if obj is not None and obj.pk != current_organization_id():
            return False
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
        if request.user.is_superuser:
            return ["name", "slug", "plan", "is_active", "settings", "created_at"]
        return ["name", "slug", "plan", "settings", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ["slug", "created_at"]
        return ["slug", "plan", "created_at"]

    def save_model(self, request, obj, form, change):
        services.organization_update(
            organization=Organization.objects.get(pk=obj.pk),
            changes=form_changes(form),
            acting_user=request.user,
        )


@admin.register(User)
class UserAdmin(RefusalsAsMessagesMixin, DjangoUserAdmin):
    """Organization admins see the members of their organization and may edit only what
    belongs to no single organization's business but the person's name and back-office
    access; membership (role, team, active) is edited on the Memberships page. Platform
    super admins see and edit every user."""

    form = forms.PlatformUserChangeForm
    add_form = forms.UserInviteForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_active"]
    search_fields = ["email", "full_name"]
    filter_horizontal: list = []
    add_fieldsets = (
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "full_name",
                    "is_staff",
                    "role",
                    "team",
                    "password1",
                    "password2",
                ],
            },
        ),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if request.user.is_superuser:
            fields = [*forms.PlatformUserChangeForm.Meta.fields, "last_login", "date_joined"]
        else:
            fields = ["email", *forms.MemberChangeForm.Meta.fields, "last_login", "date_joined"]
        return ((None, {"fields": fields}),)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return ["email", "last_login", "date_joined"]
        return ["last_login", "date_joined"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            # The invite form's own fields: its email is not the model's unique field.
            kwargs["fields"] = None
        elif not request.user.is_superuser:
            kwargs["form"] = forms.MemberChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        members = access.visible(request.user, Action.READ, Membership.objects.all())
        return queryset.filter(pk__in=members.values("user_id"))

    def _visible(self, request, obj) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request):
        return request.user.is_superuser or access.can(request.user, Action.READ, Resource.USERS)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        return access.can(request.user, Action.READ, Resource.USERS) and self._visible(request, obj)

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        return access.can(request.user, Action.UPDATE, Resource.USERS) and self._visible(
            request, obj
        )

    def has_add_permission(self, request):
        return access.can(request.user, Action.CREATE, Resource.USERS)

    def has_delete_permission(self, request, obj=None):
        # A user may belong to other organizations: remove the membership instead.
        return False

    def user_change_password(self, request, id, form_url=""):
        if not (request.user.is_superuser or str(request.user.pk) == str(id)):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        if change:
            services.user_update(
                user=User.objects.get(pk=obj.pk),
                changes=form_changes(form),
                acting_user=request.user,
            )
            return
        data = form.cleaned_data
        membership = services.user_invite(
            email=data["email"],
            role=data["role"],
            team=data.get("team"),
            full_name=data.get("full_name", ""),
            password=data.get("password1") or None,
            is_staff=data.get("is_staff", False),
            acting_user=request.user,
        )
        adopt(obj, membership.user)

    def save_related(self, request, form, formsets, change):
        # The services saved everything; users have no inlines or many-to-many here.
        return None
