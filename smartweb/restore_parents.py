"""A restore never brings a row back under a parent in the trash.

A row's parents are the soft-deletable rows its foreign keys name that it cannot outlive:
deleting one for good would delete the row with it, or be refused while the row lives
(CASCADE, PROTECT). A key that such a delete would clear instead (SET_NULL: an AI call's
interaction, a member's team) names a row the row outlives, as a live row may.

A restore that would bring back a row, or a row deleted with it, whose parent is in the
trash is refused in words ("Restore its lead “Acme” first."): a live deal under a deleted
lead is on no list, and its pages break. Unless that parent was in the trash already
when the row was deleted: the row lived so (a contract whose proposal was deleted, a
closed deal whose pipeline was), and is brought back as it was. Refusing it would leave
it for good where its parent needs it back first (the proposal needs its deal).

The parents are held (FOR SHARE, until the transaction ends) before the row is locked:
a delete of one either committed first, and is seen, or waits for the restore, and then
deletes the row with it. Deletes and restores lock a parent before its children too.
"""

from __future__ import annotations

import functools

from django.db import connection, models

from smartweb.errors import Refusal
from smartweb.rbac import Action
from smartweb.tenancy.context import acting_user

# How a key to a parent is deleted with: the row cannot outlive the row it names.
NOT_OUTLIVED = (models.CASCADE, models.PROTECT, models.RESTRICT)

# At most this many parents are named in one refusal.
NAMED_AT_MOST = 3


class ParentDeleted(Refusal):
    """A restore refused: a row it brings back has a parent in the trash."""


@functools.cache
def parent_keys(model: type[models.Model]) -> tuple[models.ForeignKey, ...]:
    """The keys of `model` that name its parents."""
    from smartweb.models import TenantOwnedModel  # which restores through this module

    return tuple(
        field
        for field in model._meta.concrete_fields
        if field.many_to_one
        and issubclass(field.related_model, TenantOwnedModel)
        and field.remote_field.on_delete in NOT_OUTLIVED
    )


def hold(row: models.Model) -> None:
    """Hold the parents `row` names, as read before its lock: a parent before its child,
    as deletes and restores lock them."""
    for field, parent_id in _parents_of(row):
        _held_deleted_at(field.related_model, row.organization_id, parent_id)


def refuse_deleted_parents(restored: list[tuple[models.Model, object]]) -> None:
    """Refuse (`ParentDeleted`) the restore of `restored`: the row restored, then the rows
    restored with it, each as written and with when it had been deleted, if one of them
    has a parent deleted since, or with it, and not restored with it. A parent that a
    restore of another one named brings back (a stage deleted with its pipeline) is left
    out."""
    since: dict[tuple, object] = {}  # each parent read once
    refused: dict[tuple, tuple] = {}  # parent -> (the key, the row naming it, is it the first)
    for index, (row, deleted_at) in enumerate(restored):
        for field, parent_id in _parents_of(row):
            key = (field.related_model, parent_id)
            if key not in since:
                since[key] = _held_deleted_at(field.related_model, row.organization_id, parent_id)
            if key not in refused and since[key] is not None and since[key] >= deleted_at:
                refused[key] = (field, row, index == 0)
    if not refused:
        return
    parents = {key: _stored(*key).first() for key in refused}
    named = [
        _parent_named(field, parents[key], row, restored_itself)
        for key, (field, row, restored_itself) in refused.items()
        if not _comes_back_with(parents[key], since[key], since)
    ]
    if len(named) > NAMED_AT_MOST:
        named[NAMED_AT_MOST:] = [f"{len(named) - NAMED_AT_MOST} more"]
    words = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    raise ParentDeleted(f"Restore {words} first.")


def _comes_back_with(parent, deleted_at, since: dict[tuple, object]) -> bool:
    """Was `parent` deleted with a parent of its own that is among `since` (deleted then
    too), and so restored with it?"""
    return any(
        since.get((field.related_model, parent_id)) == deleted_at
        for field, parent_id in _parents_of(parent)
    )


def _parents_of(row):
    for field in parent_keys(type(row)):
        parent_id = getattr(row, field.attname)
        if parent_id is not None:
            yield field, parent_id


def _held_deleted_at(model, organization_id, pk):
    """When the row `pk` of `model` was deleted (None: live), read under a share lock held
    until the transaction ends: deleting or restoring it waits for this transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT deleted_at FROM {connection.ops.quote_name(model._meta.db_table)}"
            " WHERE organization_id = %s AND id = %s FOR SHARE",
            [organization_id, pk],
        )
        found = cursor.fetchone()
    return found[0] if found else None


def _parent_named(field, parent, row, restored_itself: bool) -> str:
    """Words for the parent: "its lead “Acme”", or for a row restored with the one
    restored "the pipeline “Sales” of its opportunity “Big deal”"; a row named only to
    whoever may read it (ADR 0052)."""
    parent_words = f"{field.verbose_name}{_name(parent)}"
    if restored_itself:
        return f"its {parent_words}"
    return f"the {parent_words} of its {row._meta.verbose_name}{_name(row)}"


def _stored(model, pk):
    """The row `pk` of `model` as stored (deleted or not)."""
    from smartweb.models import stored_rows  # which restores through this module

    return stored_rows(model).filter(pk=pk)


def _name(row) -> str:
    """The row's name in quotes, after a space, where the acting user may read the row
    (in the trash or out of it) or no user acts (a command); else nothing."""
    from smartweb import access  # which reads the models

    user = acting_user()
    if row is None:
        return ""
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    if signed_in and not access.visible(user, Action.READ, _stored(type(row), row.pk)).exists():
        return ""
    return f" “{row}”"
