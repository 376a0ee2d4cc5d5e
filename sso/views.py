"""The sign-in pages of single sign-on: start (to the organization's provider) and the
callback (back from it). A refusal is a page with the reason, and an audit row."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import login
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import login_guard, two_factor, two_factor_views
from accounts.models import Organization
from smartweb.admin_site import SESSION_KEY as ORGANIZATION_KEY
from sso import oidc, policy, session, signin

PENDING_KEY = "smartweb_sso_pending"
UNKNOWN = "Single sign-on is not set up for this organization."


def _refused(request, *, status: int, message: str, reason: str, organization=None, **audit):
    signin.audit_refusal(
        request,
        organization_id=organization.pk if organization is not None else None,
        reason=reason,
        **audit,
    )
    context = {**admin.site.each_context(request), "title": "Sign-in refused", "error": message}
    return render(request, "sso/refused.html", context, status=status)


def _next(request) -> str:
    target = request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("admin:index")


@never_cache
@require_GET
def sso_choose(request):
    """The login page's form: an organization (slug) to sign in to."""
    slug = slugify(request.GET.get("organization") or "")
    if not slug:
        return HttpResponseRedirect(reverse("admin:login"))
    return HttpResponseRedirect(
        f"{reverse('sso-start', args=[slug])}?{urlencode({'next': _next(request)})}"
    )


@never_cache
@require_GET
def sso_start(request, slug: str):
    """Send the browser to the organization's identity provider."""
    organization = Organization.objects.filter(slug=slug).first()
    provider = policy.provider_of(organization.pk) if organization is not None else None
    if provider is None:
        return _refused(request, status=404, message=UNKNOWN, reason="no_provider")
    if not organization.is_active:
        return _refused(
            request,
            status=403,
            message=f"{organization.name} is deactivated: nobody can sign in to it.",
            reason="organization_inactive",
            organization=organization,
        )
    try:
        url, state = oidc.authorization_url(request, provider)
    except oidc.SignInFailed as failed:
        return _refused(
            request,
            status=502,
            message=failed.message,
            reason=failed.reason,
            organization=organization,
            provider=provider,
        )
    request.session[PENDING_KEY] = {
        "organization": str(organization.pk),
        "state": state,
        "next": _next(request),
    }
    return HttpResponseRedirect(url)


@never_cache
@require_GET
def sso_callback(request):
    """Back from the provider: check its answer, find or link the account, sign in (or
    go on to the second factor where one is needed)."""
    pending = request.session.pop(PENDING_KEY, None)
    organization = (
        Organization.objects.filter(pk=pending["organization"]).first() if pending else None
    )
    if organization is None or request.GET.get("state") != pending["state"]:
        return _refused(
            request,
            status=400,
            message="The sign-in could not be verified (its state does not match): start again.",
            reason="state",
            organization=organization,
        )
    provider = policy.provider_of(organization.pk)
    refusal = {"organization": organization, "provider": provider}
    if provider is None or not organization.is_active:
        return _refused(
            request,
            status=403,
            message=f"Single sign-on to {organization.name} is not available.",
            reason="organization_inactive" if provider else "no_provider",
            organization=organization,
        )
    email = ""
    try:
        token = oidc.finish(request, provider)
        email = (token["userinfo"].get("email") or "").lower()
        user = signin.account_for(
            provider=provider, organization=organization, token=token, request=request
        )
    except oidc.SignInFailed as failed:
        return _refused(
            request,
            status=403,
            message=failed.message,
            reason=failed.reason,
            email=email,
            **refusal,
        )
    if two_factor.needed_at_sign_in(user):
        request.session[ORGANIZATION_KEY] = str(organization.pk)
        session.hold(request, user, organization.pk, provider.pk)
        two_factor_views.hold_sign_in(request, user, next_url=pending["next"])
        return HttpResponseRedirect(reverse("admin:second_factor"))
    session.sign_in_mark(request, user, organization.pk, provider.pk)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[ORGANIZATION_KEY] = str(organization.pk)
    login_guard.login_succeeded(request, user, organization_id=organization.pk, method="sso")
    return HttpResponseRedirect(pending["next"])
