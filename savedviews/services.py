"""Writes of saved views, for the API and the admin alike: permission-checked (the owner
writes their own; an admin role, any view they can see), the query checked against its
list's vocabulary, history kept."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from savedviews.models import SavedView, ViewResource
from savedviews.vocabulary import clean_query
from smartweb import access
from smartweb.locks import advisory_xact_lock
from smartweb.rbac import Action, Resource
from smartweb.writes import locked, save_changed, values_of

SAVED_VIEW_FIELDS = {"name", "shared", "query", "resource"}


@transaction.atomic
def saved_view_create(
    *,
    acting_user: User | None,
    resource: str,
    name: str,
    query: dict[str, Any],
    shared: bool = False,
    owner: User | None = None,
) -> SavedView:
    """A new view of `resource`, the acting user's (or `owner`'s, for the system)."""
    access.require(acting_user, Action.CREATE, Resource.SAVED_VIEWS)
    view = SavedView(owner=owner or acting_user)
    if view.owner_id is None:
        raise ValidationError({"owner": "A saved view belongs to someone."})
    _apply(view, {"resource": resource, "name": name, "query": query, "shared": shared})
    _check(view, acting_user)
    view.save()
    return view


@transaction.atomic
def saved_view_update(*, view: SavedView, acting_user: User | None, **changes) -> SavedView:
    access.require(acting_user, Action.UPDATE, Resource.SAVED_VIEWS, view)
    view = locked(view)
    before = values_of(view)
    _apply(view, changes)
    _check(view, acting_user)
    save_changed(view, before)
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView, acting_user: User | None) -> None:
    """Move the view to the trash (restorable)."""
    access.require(acting_user, Action.DELETE, Resource.SAVED_VIEWS, view)
    view.delete()


def _apply(view: SavedView, changes: dict[str, Any]) -> None:
    unknown = set(changes) - SAVED_VIEW_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be set."))
    for name, value in changes.items():
        setattr(view, name, value)
    view.name = (view.name or "").strip()


def _check(view: SavedView, acting_user: User | None) -> None:
    """Its fields valid, a list the acting user may read, and its name free among the
    owner's views of that list (checked under a lock on that name)."""
    errors: dict[str, list[str]] = {}
    if view.resource not in ViewResource.values:
        errors["resource"] = [f"One of: {', '.join(ViewResource.values)}."]
    elif acting_user is not None and not access.can(acting_user, Action.READ, view.resource):
        errors["resource"] = ["You cannot read this list."]
    else:
        try:
            view.query = clean_query(view.resource, view.query)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not view.name:
        errors["name"] = ["A saved view needs a name."]
    try:
        view.full_clean(exclude=["owner", "query", *errors], validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, messages)
    if not errors:
        advisory_xact_lock("savedview", view.owner_id, view.resource, view.name.lower())
        taken = SavedView.objects.filter(
            owner_id=view.owner_id, resource=view.resource, name__iexact=view.name
        ).exclude(pk=view.pk)
        if taken.exists():
            errors["name"] = ["You have a view of this list with this name."]
    if errors:
        raise ValidationError(errors)
