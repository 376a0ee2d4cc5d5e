"""The back office's page where a signed-in user changes their own password.

Django's page checks the current password itself, unthrottled and unaudited; this one
hands the change to `accounts.services.password_change` (the API's), so a wrong current
password is a failed login under the lockout, and the change is audited. It offers to
revoke the user's API tokens with the new password (on by default, ADR 0044).
"""

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from accounts import login_guard, services
from accounts.device_sessions import keep_signed_in
from accounts.forms import revoke_tokens_choice

# The service's field names -> the form's.
FORM_FIELDS = {"current_password": "old_password", "new_password": "new_password2"}


class OwnPasswordChangeForm(AdminPasswordChangeForm):
    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        revoke_tokens_choice(self, label="Also revoke my API tokens", whose="You have")

    def clean_old_password(self):
        # Checked by the service, under the lockout: never here, where a guess is free.
        return self.cleaned_data["old_password"]


class OwnPasswordChangeView(PasswordChangeView):
    form_class = OwnPasswordChangeForm
    template_name = "accounts/password_change.html"

    def form_valid(self, form):
        try:
            revoked = services.password_change(
                user=form.user,
                current_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
                revoke_api_tokens=form.cleaned_data["revoke_api_tokens"],
                request=self.request,
            )
        except login_guard.LoginLocked as locked:
            minutes = math.ceil(locked.retry_after / 60)
            message = f"Too many failed attempts. Try again in {minutes} minute(s)."
            form.add_error("old_password", message)
            return self.form_invalid(form)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(FORM_FIELDS.get(field), errors)
            return self.form_invalid(form)
        keep_signed_in(self.request, form.user)
        if revoked:
            messages.success(
                self.request, f"{revoked} API token{'s' if revoked != 1 else ''} revoked."
            )
        return HttpResponseRedirect(self.get_success_url())
