"""The back office's Notifications page (`/admin/notifications/`): the member's own
notifications, newest first, each linked to its record; mark one or all read; turn the
daily digest on or off. Runs in the admin's organization context (the admin site's view
wrapper), its rendering inside the request's transaction (ADR 0008)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse

from notifications import records, services
from notifications.models import Notification
from smartweb.tenancy.context import current_membership

PAGE_SIZE = 50


class DigestForm(forms.Form):
    digest_enabled = forms.BooleanField(
        required=False, label="Email me a daily digest of my unread notifications"
    )


def _record_url(notification: Notification) -> str | None:
    app_label, _, model_name = notification.target_type.partition(".")
    try:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[notification.target_id])
    except NoReverseMatch:
        return None


def _act(request) -> None:
    """One of the page's buttons: mark one read, mark all read, save the digest choice."""
    user, action = request.user, request.POST.get("action")
    if action == "read":
        try:
            notification = services.mine(user).get(pk=request.POST.get("notification"))
        except (Notification.DoesNotExist, ValidationError):
            messages.error(request, "No such notification.")
            return
        services.notification_mark_read(notification=notification, user=user)
    elif action == "read_all":
        marked = services.notifications_mark_all_read(user=user)
        messages.success(request, f"{marked} marked read.")
    elif action == "digest":
        form = DigestForm(request.POST)
        form.is_valid()  # a missing checkbox is "off": always valid
        chosen = form.cleaned_data["digest_enabled"]
        services.settings_update(user=user, digest_enabled=chosen)
        messages.success(request, f"Daily digest {'on' if chosen else 'off'}.")
    else:
        messages.error(request, "Unknown action.")


def notifications_page(admin_site, request):
    # Platform admins visiting an organization are not its members: no inbox there.
    member = current_membership() is not None
    if request.method == "POST" and member:
        _act(request)
        return HttpResponseRedirect(request.get_full_path())
    unread_only = request.GET.get("unread") == "1"
    rows = services.mine(request.user).select_related("actor").order_by("-created_at")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    names = records.current_names(request.user, page.object_list)
    notifications = [(n, _record_url(n), names.get(n.target_id)) for n in page.object_list]
    digest = services.settings_of(request.user) if member else None
    context = {
        **admin_site.each_context(request),
        "title": "Notifications",
        "page": page,
        "notifications": notifications,
        "unread_only": unread_only,
        "member": member,
        "digest_form": DigestForm(initial={"digest_enabled": digest.digest_enabled})
        if digest
        else None,
    }
    return TemplateResponse(request, "notifications/list.html", context)
