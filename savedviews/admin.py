"""Saved views in the admin: the list of one's own and one's team's views (each opens its
list with the filters back), their names and sharing changed through the services, and
the page a list's "Save this view" form posts to (savedviews/templatetags)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, QueryDict
from django.urls import path
from django.utils.html import format_html

from savedviews import admin_params, admin_replace, lists, services
from savedviews.models import SavedView, ViewResource
from smartweb import access
from smartweb.admin import TenantOwnedModelAdmin, adopt
from smartweb.errors import refusal_message
from smartweb.forms import form_changes
from smartweb.rbac import Action, Resource


@admin.register(SavedView)
class SavedViewAdmin(TenantOwnedModelAdmin):
    list_display = ["name", "resource", "shared", "owner"]
    list_filter = ["resource", "shared"]
    search_fields = ["name"]
    list_select_related = ["owner"]
    fields = ["name", "shared", "resource", "query_text", "owner"]
    readonly_fields = ["resource", "query_text", "owner"]

    def has_add_permission(self, request):
        return False  # a view is saved from the list it is of

    def get_list_display(self, request):
        # The link is translated for this user's list (its columns, its filters).
        @admin.display(description="open")
        def open_link(obj):
            url, _ = lists.open_url(obj, request)
            return format_html('<a href="{}">Open the list</a>', url)

        return [*super().get_list_display(request), open_link]

    @admin.display(description="query")
    def query_text(self, obj):
        return admin_replace.query_summary(obj.query)

    def save_model(self, request, obj, form, change):
        changes = form_changes(form, services.SAVED_VIEW_FIELDS)
        adopt(obj, services.saved_view_update(view=obj, acting_user=request.user, **changes))

    def delete_model(self, request, obj):
        services.saved_view_delete(view=obj, acting_user=request.user)

    def get_urls(self):
        view = self.admin_site.admin_view(self.save_view)
        replace = self.admin_site.admin_view(self.replace_view)
        return [
            path("save/", view, name="savedviews_savedview_save"),
            path("<uuid:object_id>/replace/", replace, name="savedviews_savedview_replace"),
            *super().get_urls(),
        ]

    def replace_view(self, request, object_id):
        return admin_replace.replace_view(request, self, object_id)

    def save_view(self, request):
        """Save the list the form was posted from, then show it as the view opens it."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not access.can(request.user, Action.CREATE, Resource.SAVED_VIEWS):
            raise PermissionDenied
        resource = request.POST.get("resource", "")
        if resource not in ViewResource.values:
            raise PermissionDenied
        params = QueryDict(request.POST.get("query", ""))
        query, lost = admin_params.from_admin(
            resource, params, lists.model_admin_of(resource), request
        )
        try:
            saved = services.saved_view_create(
                acting_user=request.user,
                resource=resource,
                name=request.POST.get("name", ""),
                query=query,
                shared=request.POST.get("shared") == "on",
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, f"The view was not saved: {refusal_message(exc)}")
            return HttpResponseRedirect(f"{lists.changelist_url(resource)}?{params.urlencode()}")
        note = f" Not kept (the API has no such filter): {', '.join(lost)}." if lost else ""
        messages.success(request, f"Saved the view “{saved.name}”.{note}")
        url, _ = lists.open_url(saved, request)
        return HttpResponseRedirect(url)
