"""The version of a tenant row, for optimistic concurrency (ADR 0012).

A row's version is its `updated_at` at microsecond precision: every write through the
model (services, soft delete, restore) sets it, so a version read earlier that no longer
matches means someone wrote the row since. The API shows it as the `ETag`, the admin's
change forms carry it in a hidden field.
"""

from __future__ import annotations

import datetime as dt

from django.db import models

from smartweb.models import stored_rows

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def is_versioned(model: type[models.Model]) -> bool:
    return any(field.name == "updated_at" for field in model._meta.concrete_fields)


def version_of(updated_at: dt.datetime) -> str:
    """The version text of a row last written at `updated_at` (microseconds since 1970)."""
    return str((updated_at - EPOCH) // dt.timedelta(microseconds=1))


def etag(version: str) -> str:
    """The version as an HTTP entity tag (strong: compared byte for byte)."""
    return f'"{version}"'


def locked_version(model: type[models.Model], pk) -> str | None:
    """The row's current version, its row locked until the transaction ends (None when
    the row is gone). Comparing a client's version with this one and then writing is
    race-free: a concurrent writer waits for the lock, then sees the new version."""
    updated_at = (
        stored_rows(model)
        .select_for_update()
        .filter(pk=pk)
        .values_list("updated_at", flat=True)
        .first()
    )
    return None if updated_at is None else version_of(updated_at)


def stored_version(model: type[models.Model], pk) -> str | None:
    """The row's current version, read without a lock (for a response's `ETag`)."""
    updated_at = stored_rows(model).filter(pk=pk).values_list("updated_at", flat=True).first()
    return None if updated_at is None else version_of(updated_at)


def changes_since(instance: models.Model, version: str) -> tuple[list[tuple[str, str]], list[str]]:
    """What changed on the row since `version`, from its history: the changed fields'
    names and current values, and who changed them (empty without history)."""
    history = getattr(instance, "history", None)
    if history is None or not version.isdigit():
        return [], []
    since = EPOCH + dt.timedelta(microseconds=int(version))
    base = history.filter(updated_at__lte=since).order_by("-history_date").first()
    later = list(history.filter(updated_at__gt=since).order_by("history_date"))
    if base is None or not later:
        return [], []
    delta = later[-1].diff_against(base)
    changes = [
        (str(instance._meta.get_field(change.field).verbose_name), str(change.new))
        for change in delta.changes
        if change.field not in ("updated_at", "search_vector")
    ]
    users = sorted({str(r.history_user) for r in later if r.history_user is not None})
    return changes, users
