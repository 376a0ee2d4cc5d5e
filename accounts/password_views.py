"""The back office's page where a signed-in user changes their own password.

Django's page checks the current password itself, unthrottled and unaudited; this one
hands the change to `accounts.services.password_change` (the API's), so a wrong current
password is a failed login under the lockout, and the change is audited.
"""

from __future__ import annotations

import math

from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from accounts import login_guard, services
from accounts.device_sessions import keep_signed_in

# The service's field names -> the form's.
FORM_FIELDS = {"current_password": "old_password", "new_password": "new_password2"}


class OwnPasswordChangeForm(AdminPasswordChangeForm):
    def clean_old_password(self):
        # Checked by the service, under the lockout: never here, where a guess is free.
        return self.cleaned_data["old_password"]


class OwnPasswordChangeView(PasswordChangeView):
    form_class = OwnPasswordChangeForm

    def form_valid(self, form):
        try:
            services.password_change(
                user=form.user,
                current_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
                request=self.request,
            )
        except login_guard.LoginLocked as locked:
            minutes = math.ceil(locked.retry_after / 60)
            message = f"Too many failed attempts. Try again in {minutes} minute(s)."
            form.add_error("old_password", message)
            return self.form_invalid(form)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(FORM_FIELDS.get(field), messages)
            return self.form_invalid(form)
        keep_signed_in(self.request, form.user)
        return HttpResponseRedirect(self.get_success_url())
