"""The back-office page of an organization's signing secret for an inbound webhook (the
AI call provider's, the email provider's; accounts.signing_secrets): whoever may update
the resource for the whole organization creates or rotates it and sees the new secret
this once. A list's admin offers it with `SecretPageAdminMixin`: the page's URL, and a
link above the list for whoever may open it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse

from smartweb import access
from smartweb.rbac import Action


@dataclass(frozen=True)
class SecretPage:
    title: str
    sender: str  # who signs: "The AI call provider"
    webhook_path: str
    resource: str  # updating it organization-wide is the permission the page needs
    model: type  # the secret's model, one row per organization
    rotate: Callable  # rotate(acting_user=...) -> the new secret
    without: str  # what a missing secret stops
    back: tuple[str, str]  # the admin URL name and label the breadcrumbs lead back to
    url_path: str  # under the list's admin URL: "webhook-secret/"
    url_name: str  # in the admin's namespace
    link: str  # the link's label above the list


def may_open(user, page: SecretPage) -> bool:
    return access.can_organization_wide(user, Action.UPDATE, page.resource)


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


class SecretPageAdminMixin:
    """For a ModelAdmin whose list offers `secret_page`."""

    secret_page: SecretPage

    def get_urls(self):
        view = self.admin_site.admin_view(self.secret_page_view)
        page = self.secret_page
        return [path(page.url_path, view, name=page.url_name), *super().get_urls()]

    def secret_page_view(self, request):
        return secret_view(self.admin_site, request, self.secret_page)

    def changelist_view(self, request, extra_context=None):
        context = dict(extra_context or {})
        page = self.secret_page
        if may_open(request.user, page):
            link = (reverse(f"admin:{page.url_name}"), page.link)
            context["admin_tools"] = [*context.get("admin_tools", []), link]
        return super().changelist_view(request, context)
