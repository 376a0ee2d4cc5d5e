"""The back office's pages of two-factor authentication (accounts.two_factor).

Sign-in is two steps. The password step (accounts.forms.LoginForm) signs nobody in when
a second factor is needed: it holds the user in the session for a few minutes and the
admin site sends the browser to `second_factor`, which asks for a code, or (a member
whose organization requires it and who has no authenticator yet) enrols one first. Only
then is the session signed in, with the device recorded in it.

`two_factor_settings` is the user's own page: set up, replace (with a code of the
authenticator in use or a recovery code), new recovery codes, remove.
"""

from __future__ import annotations

import io
import math
import time
from base64 import b32encode

import django_otp
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import login
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.qr import write_qrcode_image

from accounts import login_guard, two_factor
from accounts.models import User

PENDING_KEY = "smartweb_second_factor_pending"
PENDING_SECONDS = 300
# The replacement of an authenticator in use this session proved (its pending device and
# the proof), good for REPLACEMENT_SECONDS.
REPLACEMENT_KEY = "smartweb_two_factor_replacement"
REPLACEMENT_SECONDS = 600
VERIFIED_METHOD = "admin_two_factor"


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def hold_sign_in(request, user: User, next_url: str | None = None) -> None:
    """The first factor (a password, an identity provider) was right; the second step
    must follow within PENDING_SECONDS."""
    target = next_url or request.POST.get("next") or request.GET.get("next") or ""
    request.session[PENDING_KEY] = {"user": str(user.pk), "at": time.time(), "next": target}
    request.second_factor_pending = True


def _pending_user(request) -> User | None:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None
    return User.objects.filter(pk=pending["user"], is_active=True).first()


def _next_url(request) -> str:
    target = request.session.get(PENDING_KEY, {}).get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("admin:index")


def _enrolment(device) -> dict:
    """What the user needs to add the authenticator: a QR code of its set-up URL (an
    inline SVG) and the secret to type in instead."""
    out = io.BytesIO()
    write_qrcode_image(device.config_url, out)
    svg = out.getvalue().decode()
    return {
        "enrolling": True,
        "qr_code": mark_safe(svg[svg.index("<svg") :]),  # noqa: S308 (made from our URL)
        "secret": b32encode(device.bin_key).decode(),
    }


def _page(request, template: str, **context):
    return render(
        request,
        f"accounts/{template}",
        {**admin.site.each_context(request), "title": "Two-factor authentication", **context},
    )


def _recovery_codes_page(request, codes: list[str], next_url: str):
    return _page(request, "recovery_codes.html", codes=codes, next_url=next_url)


def _checked(form: CodeForm, check):
    """What `check` makes of the form's code (a device, a replacement), or None with the
    reason on the form: a wrong or used code, or a locked sign-in."""
    try:
        found = check(form.cleaned_data["code"])
    except login_guard.LoginLocked as locked:
        minutes = math.ceil(locked.retry_after / 60)
        form.add_error("code", f"Too many failed attempts. Try again in {minutes} minute(s).")
        return None
    if found is None:
        form.add_error("code", "That code is not valid, or was used already.")
    return found


def _verified(request, user: User, form: CodeForm):
    """The device that accepts the form's code, or None with the reason on the form."""
    return _checked(form, lambda code: two_factor.verify(request, user, code))


def _confirmed(request, user: User, form: CodeForm, proof: str | None = None) -> list[str] | None:
    """Confirm the pending authenticator (replacing the one in use on `proof`); its
    recovery codes, or None with the reason."""
    code = form.cleaned_data["code"]
    if proof is None:
        codes = two_factor.confirm_enrolment(user, code)
    else:
        codes = two_factor.confirm_replacement(request, user, code, proof=proof)
    if codes is None:
        form.add_error("code", "That code is not right: check the time on your phone.")
    return codes


@never_cache
@sensitive_post_parameters("code")
def second_factor(request):
    """The second step of a sign-in: a code, or enrolment where it is required."""
    user = _pending_user(request)
    if user is None:
        request.session.pop(PENDING_KEY, None)
        messages.error(request, "Sign in again: the second step must follow within 5 minutes.")
        return HttpResponseRedirect(reverse("admin:login"))
    form = CodeForm(request.POST or None)
    enrolling = not two_factor.is_enrolled(user)
    if request.method == "POST" and form.is_valid():
        next_url = _next_url(request)
        if enrolling:
            codes = _confirmed(request, user, form)
            if codes is not None:
                _sign_in(request, user, two_factor.totp_device(user))
                return _recovery_codes_page(request, codes, next_url)
        else:
            device = _verified(request, user, form)
            if device is not None:
                _sign_in(request, user, device)
                return HttpResponseRedirect(next_url)
    context = {"form": form, "user_email": user.email}
    if enrolling:
        device = two_factor.pending_enrolment(user) or two_factor.start_enrolment(user)
        context.update(_enrolment(device))
    return _page(request, "second_factor.html", **context)


def _sign_in(request, user: User, device) -> None:
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    django_otp.login(request, device)
    login_guard.login_succeeded(request, user, method=VERIFIED_METHOD)


def _proven_replacement(request, user: User) -> str | None:
    """The proof this session gave for the user's pending authenticator, while it holds
    (the same pending device, within REPLACEMENT_SECONDS); else None."""
    held = request.session.get(REPLACEMENT_KEY)
    pending = two_factor.pending_enrolment(user)
    if not held or pending is None or held["device"] != str(pending.pk):
        return None
    return held["proof"] if time.time() - held["at"] <= REPLACEMENT_SECONDS else None


def _hold_replacement(request, replacement: two_factor.Replacement) -> dict:
    request.session[REPLACEMENT_KEY] = {
        "device": str(replacement.device.pk),
        "proof": replacement.proof,
        "at": time.time(),
    }
    return {"form": CodeForm(), "replacing": True, **_enrolment(replacement.device)}


@never_cache
@sensitive_post_parameters("code")
def two_factor_settings(request):
    """The signed-in user's own second factor: set up, replace, new recovery codes,
    remove."""
    user = User.objects.get(pk=request.user.pk)  # the model, not the request's lazy wrapper
    here = reverse("admin:two_factor")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    coded = ("confirm", "replace", "recovery_codes", "remove")
    form = CodeForm(request.POST if action in coded else None)
    context = {"form": form}
    enrolled = two_factor.is_enrolled(user)
    proof = _proven_replacement(request, user) if enrolled else None
    if (action == "start" and enrolled) or (action == "confirm" and enrolled and proof is None):
        # A new authenticator replaces the one in use only on proof of a code of it or a
        # recovery code (the "replace" action), never on the session alone.
        messages.error(
            request,
            "Two-factor authentication is on: to replace the authenticator, enter a code "
            "of it or one of your recovery codes, then choose Replace.",
        )
        return HttpResponseRedirect(here)
    if action == "start":
        context.update(form=CodeForm(), **_enrolment(two_factor.start_enrolment(user)))
    elif action == "confirm":
        codes = _confirmed(request, user, form, proof) if form.is_valid() else None
        if codes is not None:
            request.session.pop(REPLACEMENT_KEY, None)
            django_otp.login(request, two_factor.totp_device(user))
            return _recovery_codes_page(request, codes, here)
        pending = two_factor.pending_enrolment(user) or two_factor.start_enrolment(user)
        context.update(replacing=proof is not None, **_enrolment(pending))
    elif action == "replace":
        replacement = (
            _checked(form, lambda code: two_factor.start_replacement(request, user, code))
            if enrolled and form.is_valid()
            else None
        )
        if replacement is not None:
            context.update(_hold_replacement(request, replacement))
    elif form.is_bound and form.is_valid():
        device = _verified(request, user, form)
        if device is not None and action == "recovery_codes":
            return _recovery_codes_page(request, two_factor.new_recovery_codes(user), here)
        if device is not None and two_factor.required_for(user):
            form.add_error(None, "Your organization requires two-factor authentication.")
        elif device is not None:
            two_factor.remove(user)
            messages.success(request, "Two-factor authentication is off.")
            return HttpResponseRedirect(here)
    context.update(
        enrolled=two_factor.is_enrolled(user),
        required=two_factor.required_for(user),
        recovery_codes_left=two_factor.remaining_recovery_codes(user),
    )
    return _page(request, "two_factor.html", **context)
