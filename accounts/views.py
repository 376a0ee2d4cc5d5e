"""The page an invitation email links to (the API has `POST /api/v1/invitations/accept/`)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import invitations
from smartweb.admin_site import SESSION_KEY
from smartweb.validators import ONE_LINE


class NewAccountForm(forms.Form):
    full_name = forms.CharField(
        label="Your name", max_length=200, required=False, validators=[ONE_LINE]
    )
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") != cleaned.get("password2"):
            raise ValidationError({"password2": "The two passwords differ."})
        return cleaned


@never_cache
@sensitive_post_parameters("password1", "password2")
def invitation_accept(request, token: str):
    """Show the invitation; on POST join (a new email creates its account here)."""
    context = {**admin.site.each_context(request), "title": "Invitation"}
    try:
        opened = invitations.open_invitation(token)
    except invitations.InvalidInvitation as exc:
        return render(
            request, "accounts/invitation.html", {**context, "error": exc.messages[0]}, status=404
        )
    signed_in_as_invitee = (
        request.user.is_authenticated and request.user.email.lower() == opened.invitation.email
    )
    form = NewAccountForm(request.POST or None) if not opened.has_account else None
    context.update(
        opened=opened,
        form=form,
        signed_in_as_invitee=signed_in_as_invitee,
        login_url=f"{reverse('admin:login')}?next={request.path}",
    )
    if request.method != "POST" or (form is not None and not form.is_valid()):
        return render(request, "accounts/invitation.html", context)
    try:
        membership = invitations.invitation_accept(
            token=token,
            user=request.user if request.user.is_authenticated else None,
            full_name=form.cleaned_data["full_name"] if form else "",
            password=form.cleaned_data["password1"] if form else None,
            request=request,
        )
    except (ValidationError, PermissionDenied) as exc:
        reasons = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        return render(request, "accounts/invitation.html", {**context, "refusal": reasons[0]})
    if not request.user.is_authenticated:
        login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_KEY] = str(membership.organization_id)
    messages.success(request, f"You joined {opened.organization.name}.")
    return HttpResponseRedirect(reverse("admin:index"))
