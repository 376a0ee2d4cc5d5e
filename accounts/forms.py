"""Admin forms of the accounts domain. They validate through the same service checks the
API uses, so that a refused change is a form error, never a half-saved row."""

from __future__ import annotations

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import (
    invitations,
    login_guard,
    services,
    two_factor,
    two_factor_views,
    user_tokens,
)
from accounts.models import Invitation, Membership, Organization, Role, Team, User
from smartweb import time_zones
from smartweb.errors import NOT_PERMITTED, refusal_message
from smartweb.forms import form_changes
from smartweb.rbac import Action
from smartweb.tenancy.context import acting_user


class LoginForm(AdminAuthenticationForm):
    """The admin login, with the lockout of the API token endpoint."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": "Too many failed logins. Try again in %(minutes)s minute(s).",
        "second_factor": "Enter the code of your second factor.",
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
            self._refuse_if_sso_required(self.user_cache)
            if two_factor.needed_at_sign_in(self.user_cache):
                # Not signed in yet: the admin site sends the browser to the second step.
                two_factor_views.hold_sign_in(self.request, self.user_cache)
                raise ValidationError(self.error_messages["second_factor"], code="second_factor")
            login_guard.login_succeeded(self.request, self.user_cache, method="admin")
        return self.cleaned_data

    def _refuse_if_sso_required(self, user) -> None:
        """An organization of the user requires its identity provider (sso.policy)."""
        from sso import policy, session  # an app above accounts: imported when used

        self.request.session.pop(session.HELD_KEY, None)
        required = policy.requiring_organizations(user)
        if required:
            policy.audit_password_refused(self.request, user, required, method="admin")
            raise ValidationError(policy.REFUSAL, code="sso_required")

    def confirm_login_allowed(self, user):
        """Any active account signs in; what it may open is the admin site's
        `has_permission` (a membership whose role allows the back office), not
        Django's `is_staff`."""
        if not user.is_active:
            raise ValidationError(self.error_messages["inactive"], code="inactive")


class ServiceCheckedForm(forms.ModelForm):
    """Runs `service_check` after field validation; its errors become form errors, and so
    do its permission refusals: they are about this change (a team one may not move a
    member into), the page itself being the admin's to refuse (403). Raised past the form
    they became a message on a reloaded page, and what the user chose was lost."""

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
            except PermissionDenied as exc:
                raise ValidationError(refusal_message(exc, default=NOT_PERMITTED)) from None
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
        fields = ["name", "slug", "description", "back_office"]

    def service_check(self, cleaned_data):
        cleaned_data["slug"] = services.role_check(
            name=cleaned_data.get("name", ""),
            slug=cleaned_data.get("slug") or None,
            role=self.instance if self.instance.pk else None,
        )
        services.ensure_grantable(
            grants={},
            acting_user=acting_user(),
            back_office=bool(cleaned_data.get("back_office")),
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Offered: the roles the editor may give (as an invitation's) and the teams they
        # may place members in (`placeable_teams`, as an invitation's), and the member's
        # own role and team, so that the page saved unchanged is taken.
        if "role" in self.fields:
            offered = services.grantable_roles(acting_user())
            if self.instance.role_id is not None:
                offered |= Role.objects.filter(pk=self.instance.role_id)
            self.fields["role"].queryset = offered.order_by("name")
        if "team" in self.fields:
            teams = services.placeable_teams(acting_user(), Action.UPDATE)
            if self.instance.team_id is not None:
                teams |= Team.objects.filter(pk=self.instance.team_id)
            self.fields["team"].queryset = teams.order_by("name")

    def service_check(self, cleaned_data):
        services.membership_check(
            membership=self.instance, changes=form_changes(self), acting_user=acting_user()
        )


class InvitationForm(forms.ModelForm):
    """Invite a person by email: the same answer whether or not the email has an account."""

    class Meta:
        model = Invitation
        fields = ["email", "role", "team"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The managers are scoped to the organization of the request: evaluate them now
        # (on the page of a sent invitation the fields are read-only, not in the form).
        # The roles are those the inviter may give: one above their own, offered, was
        # refused only once chosen and sent.
        if "role" in self.fields:
            self.fields["role"].queryset = services.grantable_roles(acting_user()).order_by("name")
        # The teams, those the inviter may place a member in.
        if "team" in self.fields:
            teams = services.placeable_teams(acting_user(), Action.CREATE)
            self.fields["team"].queryset = teams.order_by("name")

    def clean(self):
        cleaned_data = super().clean()
        if self.errors or not self.instance._state.adding:  # a sent one is never changed
            return cleaned_data
        try:
            cleaned_data["email"] = invitations.invitation_check(
                email=cleaned_data["email"],
                role=cleaned_data["role"],
                team=cleaned_data.get("team"),
                acting_user=acting_user(),
            )
        except ValidationError as exc:
            raise ValidationError(
                exc.error_dict if hasattr(exc, "error_dict") else {"role": exc.messages}
            ) from None
        return cleaned_data


def _time_zone_choices() -> list[tuple[str, str]]:
    return [("", "Each organization's own"), *((n, n) for n in sorted(time_zones.available()))]


def time_zone_field() -> forms.ChoiceField:
    """A user's own time zone, picked from the server's tz database; blank keeps each
    organization's (ADR 0050)."""
    return forms.ChoiceField(
        choices=_time_zone_choices,
        required=False,
        label="Time zone",
        help_text=User._meta.get_field("time_zone").help_text,
    )


class StoredTimeZoneKeptMixin:
    """A stored zone (a user's, an organization's) stays valid when the server's tz
    database no longer knows it (a zone renamed or removed by a tz update), and a choice
    labelled so where the zone is chosen from a list: the page is then saved unchanged, as
    any other, where it was refused as "Select a valid choice" or "Unknown time zone".
    Times read as UTC meanwhile (`time_zones.zone_named`). Choosing a name the server does
    not know is still refused, here and by the model's check of a changed zone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.time_zone
        field = self.fields.get("time_zone")
        listed = isinstance(field, forms.ChoiceField)
        if listed and stored and stored not in time_zones.available():
            label = f"{stored} (not known here: times shown in UTC)"
            field.choices = [*field.choices[:1], (stored, label), *field.choices[1:]]

    def _get_validation_exclusions(self):
        exclusions = super()._get_validation_exclusions()
        if "time_zone" not in self.changed_data:
            exclusions.add("time_zone")  # as stored: not checked against the tz database
        return exclusions


class OrganizationForm(StoredTimeZoneKeptMixin, forms.ModelForm):
    """An organization's set-up page (the fields are the admin's, by role)."""

    class Meta:
        model = Organization
        fields = ["name", "plan", "is_active", "time_zone", "settings"]


class PlatformUserChangeForm(StoredTimeZoneKeptMixin, UserChangeForm):
    """A platform super admin's view of a user. The platform flags (is_staff,
    is_superuser) are shown, not edited: the database refuses them to the application."""

    time_zone = time_zone_field()

    class Meta(UserChangeForm.Meta):
        model = User
        fields = [
            "email",
            "password",
            "full_name",
            "time_zone",
            "is_active",
            "default_organization",
        ]


class OwnProfileForm(StoredTimeZoneKeptMixin, forms.ModelForm):
    """A user's own profile, as they edit it in the back office."""

    time_zone = time_zone_field()

    class Meta:
        model = User
        fields = ["full_name", "time_zone"]


def revoke_tokens_choice(form, *, label: str, whose: str) -> None:
    """Add to a password form the choice to revoke the user's API tokens with it, on by
    default (ADR 0044), and say how many are active (the page shows the choice only if
    any are: `form.active_api_tokens`)."""
    count = user_tokens.active_count(form.user)
    form.active_api_tokens = count
    form.fields["revoke_api_tokens"] = forms.BooleanField(
        label=label,
        required=False,
        initial=True,
        help_text=(
            f"{whose} {count} active API token{'s' if count != 1 else ''} (in every "
            "organization). A token made with a stolen password keeps working after the "
            "password changes, unless revoked."
        ),
    )


class PlatformPasswordResetForm(AdminPasswordChangeForm):
    """A platform super admin sets a user's password (Django's form, the change made by
    `services.password_reset`: audited, devices signed out, tokens revoked if chosen)."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        revoke_tokens_choice(self, label="Also revoke their API tokens", whose="They have")

    def save(self, commit=True):
        usable = self.cleaned_data["set_usable_password"]
        services.password_reset(
            user=self.user,
            new_password=self.cleaned_data["password1"] if usable else None,
            revoke_api_tokens=self.cleaned_data["revoke_api_tokens"],
            acting_user=acting_user(),
        )
        return self.user
