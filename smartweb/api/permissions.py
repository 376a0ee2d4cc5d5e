"""DRF permission class backed by the permission service."""

from rest_framework import permissions

from smartweb import access
from smartweb.rbac import Action

METHOD_ACTIONS = {
    "GET": Action.READ,
    "HEAD": Action.READ,
    "OPTIONS": Action.READ,
    "POST": Action.CREATE,
    "PUT": Action.UPDATE,
    "PATCH": Action.UPDATE,
    "DELETE": Action.DELETE,
}


def required_action(request, view) -> str:
    """The RBAC action of this request: the view's `action_permissions` map wins."""
    overrides = getattr(view, "action_permissions", {})
    if getattr(view, "action", None) in overrides:
        return overrides[view.action]
    return METHOD_ACTIONS.get(request.method, Action.UPDATE)


class HasResourcePermission(permissions.BasePermission):
    """Role permission on the view's `resource` (403 without it); object scope per row.

    Rows outside the user's read scope never reach here: the queryset hides them (404).
    A row the user can see but not change gives 403.
    """

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return access.can(request.user, required_action(request, view), view.resource)

    def has_object_permission(self, request, view, obj):
        return access.can(request.user, required_action(request, view), view.resource, obj=obj)
