"""The back-office page of an organization's signing secret for an inbound webhook (the
AI call provider's, the email provider's; accounts.signing_secrets): whoever may update
the resource creates or rotates it and sees the new secret this once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse

from smartweb import access
from smartweb.rbac import Action


@dataclass(frozen=True)
class SecretPage:
    title: str
    sender: str  # who signs: "The AI call provider"
    webhook_path: str
    resource: str  # updating it is the permission the page needs
    model: type  # the secret's model, one row per organization
    rotate: Callable  # rotate(acting_user=...) -> the new secret
    without: str  # what a missing secret stops
    back: tuple[str, str]  # the admin URL name and label the breadcrumbs lead back to


def may_open(user, page: SecretPage) -> bool:
    return access.can(user, Action.UPDATE, page.resource)


def secret_view(admin_site, request, page: SecretPage):
    if not may_open(request.user, page):
        raise PermissionDenied
    secret = page.rotate(acting_user=request.user) if request.method == "POST" else None
    url_name, label = page.back
    context = {
        **admin_site.each_context(request),
        "title": page.title,
        "sender": page.sender,
        "secret": secret,
        "current": page.model.objects.first(),
        "webhook_url": request.build_absolute_uri(page.webhook_path),
        "without": page.without,
        "back_url": reverse(url_name),
        "back_label": label,
    }
    return TemplateResponse(request, "admin/signing_secret.html", context)
