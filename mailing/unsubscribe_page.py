"""`/u/{token}`: the unsubscribe link of an email to a lead (ADR 0042). Public: nobody
signs in, so there is no session and no CSRF token (the one-click POST comes from the
mailbox provider's servers).

- GET shows a page with a button, and changes nothing: mail scanners open links.
- POST records the opt-out (`mailing.optout`): the mailbox provider's one-click POST
  (body `List-Unsubscribe=One-Click`, RFC 8058) and the page's button alike. A repeat
  answers the same page.

Before anything else, hits per client address are counted in the database
(`smartweb.rate_limit`, as for the lead-capture forms): over the limit, 429 with
Retry-After. A token that is not ours, altered or expired, or that names no active
organization, is a 404 page. The organization the token names is the context of every
read and write (`tenant_context`, no user), as a lead-capture form's is.
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import Organization
from compliance.suppression import mail_suppression_of_digest
from mailing import optout, unsubscribe
from smartweb import rate_limit
from smartweb.origin import client_network
from smartweb.tenancy.context import tenant_context

TEMPLATE = "mailing/unsubscribe.html"
INVALID = "This unsubscribe link is not valid, or has expired."


def _refusal(request, message: str, status: int, retry_after: int | None = None):
    response = render(request, TEMPLATE, {"refusal": message}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _rate_limited(request):
    try:
        rate_limit.hit(
            "unsubscribe-address",
            client_network(request) or "unknown",
            limit=settings.UNSUBSCRIBE_ADDRESS_LIMIT,
            window=settings.UNSUBSCRIBE_RATE_WINDOW_SECONDS,
        )
    except rate_limit.RateLimited as exc:
        message = f"Too many requests; try again in {exc.retry_after} seconds."
        return _refusal(request, message, 429, exc.retry_after)
    return None


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request, token: str):
    refused = _rate_limited(request)
    if refused is not None:
        return refused
    named = unsubscribe.read(token)
    organization = (
        Organization.objects.filter(pk=named.organization_id, is_active=True).first()
        if named is not None
        else None
    )
    if organization is None:
        return _refusal(request, INVALID, 404)
    with tenant_context(organization):
        if request.method == "POST":
            method = optout.PAGE if request.GET.get("via") == optout.PAGE else optout.ONE_CLICK
            optout.email_unsubscribe(optout=named, method=method, request=request)
            done = True
        else:
            done = mail_suppression_of_digest(named.digest) is not None
    context = {"organization": organization, "done": done, "via": optout.PAGE}
    return render(request, TEMPLATE, context)
