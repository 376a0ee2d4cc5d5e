"""Reads of saved views: the ones a user may open, of one list or all."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from savedviews.models import SavedView
from smartweb import access
from smartweb.rbac import Action, Resource


def views_for(*, user, resource: str | None = None) -> QuerySet[SavedView]:
    """The user's own views and those shared with them, by name."""
    views = access.visible(user, Action.READ, SavedView.objects.all(), Resource.SAVED_VIEWS)
    if resource is not None:
        views = views.filter(resource=resource)
    return views.select_related("owner").order_by("name", "created_at")


def view_for(*, user, pk, resource: str) -> SavedView | None:
    """One view of `resource` the user may open; None for any other id (another
    organization's, someone's private view, not an id at all)."""
    try:
        return views_for(user=user, resource=resource).filter(pk=pk).first()
    except (ValidationError, ValueError, TypeError):
        return None
