"""The tenant API's viewsets, found in the URL conf (so a new one is checked too)."""

from __future__ import annotations

import re

from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver

from smartweb.api.viewsets import OrganizationContextMixin


def tenant_list_routes() -> list[tuple[str, type]]:
    """(list URL, viewset class) of every tenant viewset the URL conf routes over a
    model (the user's own tokens and sessions, which have none, are not rows of a role)."""
    found: dict[type, str] = {}

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                cls = getattr(pattern.callback, "cls", None)
                actions = getattr(pattern.callback, "actions", None) or {}
                route = prefix + str(pattern.pattern)
                if (
                    cls is not None
                    and issubclass(cls, OrganizationContextMixin)
                    and actions.get("get") == "list"
                    and cls.queryset is not None
                    and "<" not in route
                ):
                    found.setdefault(cls, "/" + re.sub(r"[$^\\]", "", route))

    walk(get_resolver().url_patterns, "")
    return sorted(((url, cls) for cls, url in found.items()), key=lambda pair: pair[0])


def resources_of(cls) -> tuple[str, ...]:
    """The RBAC resources a viewset's permissions follow: its model's, or for rows that
    follow their record's (attachments) each kind of record's."""
    return getattr(cls, "record_resources", None) or (cls().resource,)


def tenant_admins() -> list[tuple[type, object]]:
    """(model, model admin) of every tenant model admin the admin site registers."""
    from django.contrib import admin

    from smartweb.admin import TenantModelAdmin

    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, TenantModelAdmin)
    ]
