"""Admin forms of the accounts domain. They validate through the same service checks the
API uses, so that a refused change is a form error, never a half-saved row."""

from __future__ import annotations

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError

from accounts import login_guard, services
from accounts.models import Membership, Role, Team, User
from smartweb.forms import form_changes
from smartweb.tenancy.context import acting_user


class LoginForm(AdminAuthenticationForm):
    """The admin login, with the lockout of the API token endpoint."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": "Too many failed logins. Try again in %(minutes)s minute(s).",
    }

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            try:
                self.user_cache = login_guard.check_credentials(
                    self.request, email=email, password=password
                )
            except login_guard.LoginLocked as locked:
                raise ValidationError(
                    self.error_messages["locked"],
                    code="locked",
                    params={"minutes": math.ceil(locked.retry_after / 60)},
                ) from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
            login_guard.login_succeeded(self.request, self.user_cache, method="admin")
        return self.cleaned_data


class ServiceCheckedForm(forms.ModelForm):
    """Runs `service_check` after field validation; its errors become form errors."""

    def service_check(self, cleaned_data: dict) -> None:
        raise NotImplementedError

    def clean(self):
        cleaned_data = super().clean()
        if not self.errors:
            try:
                self.service_check(cleaned_data)
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and not set(exc.error_dict) <= set(self.fields):
                    exc = ValidationError(exc.messages)
                raise exc from None
        return cleaned_data


class TeamForm(ServiceCheckedForm):
    class Meta:
        model = Team
        fields = ["name", "manager"]

    def service_check(self, cleaned_data):
        services.team_check(
            name=cleaned_data.get("name", ""),
            manager=cleaned_data.get("manager"),
            team=self.instance if self.instance.pk else None,
        )


class RoleForm(ServiceCheckedForm):
    slug = forms.SlugField(max_length=80, required=False, help_text="Default: from the name.")

    class Meta:
        model = Role
        fields = ["name", "slug", "description"]

    def service_check(self, cleaned_data):
        cleaned_data["slug"] = services.role_check(
            name=cleaned_data.get("name", ""),
            slug=cleaned_data.get("slug") or None,
            role=self.instance if self.instance.pk else None,
        )


class RolePermissionFormSet(forms.BaseInlineFormSet):
    def grants(self) -> dict[tuple[str, str], str]:
        return {
            (form.cleaned_data["resource"], form.cleaned_data["action"]): form.cleaned_data["scope"]
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        }

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        services.ensure_grantable(grants=self.grants(), acting_user=acting_user())


class MembershipForm(ServiceCheckedForm):
    class Meta:
        model = Membership
        fields = ["role", "team", "is_active"]

    def service_check(self, cleaned_data):
        services.membership_check(
            membership=self.instance, changes=form_changes(self), acting_user=acting_user()
        )


class UserInviteForm(forms.ModelForm):
    """Add a person to the current organization: a new user, or an existing one by email.

    `email` is not a model field of this form: an existing email is an invitation of that
    user, not a uniqueness error.
    """

    email = forms.EmailField(max_length=254)
    role = forms.ModelChoiceField(queryset=Role.objects.none())
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    password1 = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Needed for a new user; an existing user keeps their password.",
    )
    password2 = forms.CharField(
        label="Password confirmation",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = User
        fields = ["full_name", "is_staff"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The managers are scoped to the organization of the request: evaluate them now.
        self.fields["role"].queryset = Role.objects.order_by("name")
        self.fields["team"].queryset = Team.objects.order_by("name")

    def clean(self):
        cleaned_data = super().clean()
        if self.errors:
            return cleaned_data
        password = cleaned_data.get("password1") or None
        if password != (cleaned_data.get("password2") or None):
            raise ValidationError({"password2": "The two passwords differ."})
        if (
            password is None
            and not User.objects.filter(email__iexact=cleaned_data["email"]).exists()
        ):
            raise ValidationError({"password1": "A new user needs a password."})
        try:
            cleaned_data["email"] = services.user_invite_check(
                email=cleaned_data["email"],
                role=cleaned_data["role"],
                team=cleaned_data.get("team"),
                full_name=cleaned_data.get("full_name", ""),
                password=password,
                acting_user=acting_user(),
            )
        except ValidationError as exc:
            raise ValidationError(
                exc.error_dict if hasattr(exc, "error_dict") else {"role": exc.messages}
            ) from None
        return cleaned_data


class PlatformUserChangeForm(UserChangeForm):
    """A platform super admin's view of a user."""

    class Meta(UserChangeForm.Meta):
        model = User
        fields = [
            "email",
            "password",
            "full_name",
            "is_active",
            "is_staff",
            "is_superuser",
            "default_organization",
        ]


class MemberChangeForm(forms.ModelForm):
    """An organization admin's view of a member: users are shared between organizations,
    so only what cannot hurt the user's other organizations is editable."""

    class Meta:
        model = User
        fields = ["full_name", "is_staff"]
