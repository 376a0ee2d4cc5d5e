"""Writing only what a change changed, on a row read under its lock.

A service that reads a row, applies a change and saves the whole row undoes whatever
another request wrote in between (a lost update). Services instead lock the row
(`locked`), remember its values (`values_of`), apply the change and save the fields
that differ (`save_changed`): concurrent changes of different fields all survive, and
the history snapshot (taken from the locked, updated row) records exactly this write.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from django.db import models

from smartweb.models import DeletedMeanwhile, stored_rows


def locked(instance: models.Model, *related: str, no_key: bool = False) -> models.Model:
    """The row of `instance` as stored, locked until the transaction ends (with the
    `related` rows joined, and locked, too). Refused if it is soft-deleted by then.
    `no_key`: a writer that changes no key takes FOR NO KEY UPDATE, which lets rows
    referencing this one be written meanwhile (their key checks take KEY SHARE)."""
    # The model from its options, not `type()`: a request's user is a lazy proxy of one.
    rows = stored_rows(instance._meta.model)
    # `select_related()` without names would join, and lock, every row the instance
    # points to: its organization, its parents and theirs (a contract: 28 tables).
    if related:
        rows = rows.select_related(*related)
    row = rows.select_for_update(no_key=no_key).get(pk=instance.pk)
    if getattr(row, "deleted_at", None) is not None:
        raise DeletedMeanwhile(f"This {row._meta.verbose_name} has been deleted.")
    return row


def locked_rows(
    model: type[models.Model], instances: Iterable[models.Model], *related: str
) -> list[models.Model]:
    """The rows of `instances` as stored (soft-deleted ones too), locked until the
    transaction ends, with the `related` rows joined and locked, in id order. A change of
    several rows locks them all before writing any, and in the one order every such
    change uses: two of them wait for each other instead of deadlocking, and each writes
    the rows as they are, not as they were read before the lock."""
    if isinstance(instances, models.QuerySet):
        ids = instances.values("pk")
    else:
        ids = [instance.pk for instance in instances]
    rows = stored_rows(model)
    if related:
        rows = rows.select_related(*related)
    return list(rows.select_for_update().filter(pk__in=ids).order_by("pk"))


def values_of(instance: models.Model) -> dict:
    """The instance's stored values, to compare with after a change."""
    deferred = instance.get_deferred_fields()
    return {
        field.attname: copy.deepcopy(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if not field.primary_key
        and not getattr(field, "generated", False)
        and field.attname not in deferred
    }


def save_changed(instance: models.Model, before: dict, *, parts_changed: bool = False) -> list[str]:
    """Save the fields that differ from `before` (and the row's `updated_at`); the changed
    names. Nothing changed writes nothing: no history row, the version stays.

    `parts_changed`: rows that the instance's representation nests and its edit writes
    changed too (a lead's tags and company, a proposal's lines). They are part of what a
    client's version stands for, so the row's version moves with them even when none of
    its own fields changed (ADR 0012): an `If-Match` read before is then stale."""
    changed = [name for name, value in before.items() if getattr(instance, name) != value]
    if changed or parts_changed:
        stamp = ["updated_at"] if "updated_at" in before and "updated_at" not in changed else []
        instance.save(update_fields=[*changed, *stamp])
    return changed
