"""Retention: how long an organization keeps deleted rows, history and security logs,
and the purge that removes what has expired (see docs/decisions/0005).

    organization.settings["retention"] = {"deleted_days": 30, "history_days": 730,
                                          "security_log_days": 365}

A value of null keeps that kind of data for good. The purge is a list of steps, one per
table, each run in its own transaction inside the organization's context:

- soft-deleted rows whose `deleted_at` is older than `deleted_days` are deleted for good,
  children before parents; whatever they cascade to goes too, and so do the history rows
  of every row removed (history of a row that no longer exists would keep its data);
  a row still referenced by a live row (PROTECT) is kept and counted as kept;
- history rows older than `history_days`;
- security log rows older than `security_log_days`. The runtime role may not delete from
  the append-only audit log, so this step opens its own connection as the owner role
  (`DATABASE_OWNER_URL`); without it the step is skipped and says so;
- remembered answers of `Idempotency-Key` requests past their `expires_at`, whatever the
  settings (a retry after that is a new request anyway).
"""

from __future__ import annotations

import datetime as dt
import graphlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.db.models.signals import post_delete
from django.utils import timezone

from accounts.models import AuditLog, IdempotentRequest, Organization
from compliance.subject import history_model
from smartweb import db_bootstrap
from smartweb.models import TenantOwnedModel, stored_rows
from smartweb.tenancy.context import ORGANIZATION_SETTING

DEFAULTS: dict[str, int | None] = {
    "deleted_days": 30,
    "history_days": 730,
    "security_log_days": 365,
}
BATCH_SIZE = 500
SECURITY_LOGS = "audit_logs"
PURGE_AUDIT_ACTION = "data.retention_purge"


class OwnerConnectionUnavailable(RuntimeError):
    """The security log purge needs DATABASE_OWNER_URL."""


def clean_retention(value) -> dict[str, int | None]:
    """The retention settings with defaults filled in; ValidationError when invalid."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ValidationError({"retention": "Retention settings are a JSON object."})
    unknown = set(value) - set(DEFAULTS)
    if unknown:
        raise ValidationError({"retention": f"Unknown settings: {', '.join(sorted(unknown))}."})
    merged = {**DEFAULTS, **value}
    for key, days in merged.items():
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
            raise ValidationError({key: "A number of days (1 or more), or null to keep for good."})
    return merged


def retention_of(organization: Organization) -> dict[str, int | None]:
    return clean_retention((organization.settings or {}).get("retention"))


def cutoffs(organization: Organization, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    return {
        key: now - dt.timedelta(days=days) if days is not None else None
        for key, days in retention_of(organization).items()
    }


# --- what there is to purge -------------------------------------------------------


def soft_deletable_models() -> list[type[models.Model]]:
    """Every soft-deletable model, a model before the models it PROTECT-references."""
    found = [
        m
        for m in apps.get_models()
        if issubclass(m, TenantOwnedModel) and not m._meta.proxy and m._meta.managed
    ]
    graph = graphlib.TopologicalSorter()
    for model in found:
        graph.add(model)
        for f in model._meta.concrete_fields:
            target = f.related_model if f.is_relation else None
            if (
                target in found
                and target is not model
                and f.remote_field.on_delete is models.PROTECT
            ):
                # The referenced model is purged after the referencing one.
                graph.add(target, model)
    return list(graph.static_order())


def history_models() -> list[type[models.Model]]:
    found = []
    for model in apps.get_models():
        historical = history_model(model)
        if historical is not None and any(
            f.name == "organization" for f in historical._meta.fields
        ):
            found.append(historical)
    return sorted(found, key=lambda m: m._meta.db_table)


@dataclass(frozen=True)
class Step:
    """One table's share of the purge: `count()` for a dry run, `run()` to delete."""

    kind: str  # "deleted", "history", "security_logs" or "idempotency_keys"
    table: str
    count: Callable[[], int]
    run: Callable[[], Counter]


def steps(organization: Organization, now: dt.datetime | None = None) -> list[Step]:
    """The purge steps of `organization`; call them inside its context."""
    limits = cutoffs(organization, now)
    found: list[Step] = []
    if limits["deleted_days"] is not None:
        found += [_deleted_step(m, limits["deleted_days"]) for m in soft_deletable_models()]
    if limits["history_days"] is not None:
        found += [_history_step(m, limits["history_days"]) for m in history_models()]
    if limits["security_log_days"] is not None:
        found.append(_security_log_step(organization, limits["security_log_days"]))
    moment = now or timezone.now()
    found.append(
        _expired_rows_step(
            "idempotency_keys",
            IdempotentRequest,
            lambda: IdempotentRequest.objects.filter(expires_at__lt=moment),
        )
    )
    return found


def plan(organization: Organization, now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Dry-run counts, kind -> table -> rows (tables with nothing to purge left out)."""
    result: dict[str, dict[str, int]] = {}
    for step in steps(organization, now):
        count = step.count()
        if count:
            result.setdefault(step.kind, {})[step.table] = count
    return result


# --- deleted rows ------------------------------------------------------------------


def _deleted_step(model: type[models.Model], cutoff: dt.datetime) -> Step:
    def expired():
        return model.all_objects.filter(deleted_at__lt=cutoff)

    return Step(
        kind="deleted",
        table=model._meta.db_table,
        count=lambda: expired().count(),
        run=lambda: _hard_delete(model, list(expired().values_list("pk", flat=True))),
    )


@contextmanager
def _deletions() -> Iterator[dict[type[models.Model], list]]:
    """Rows deleted by this thread during the block, by model (cascades included)."""
    deleted: dict[type[models.Model], list] = {}
    thread = threading.get_ident()

    def receiver(sender, instance, **kwargs):
        if threading.get_ident() == thread:
            deleted.setdefault(sender, []).append(instance.pk)

    post_delete.connect(receiver, weak=False, dispatch_uid=f"compliance-purge-{thread}")
    try:
        yield deleted
    finally:
        post_delete.disconnect(dispatch_uid=f"compliance-purge-{thread}")


def _delete_rows(model, pks) -> Counter:
    removed: Counter = Counter()
    with _deletions() as deleted:
        _, per_model = model._base_manager.filter(pk__in=pks).delete()
    for label, count in per_model.items():
        if count:
            removed[apps.get_model(label)._meta.db_table] += count
    for deleted_model, deleted_pks in deleted.items():
        historical = history_model(deleted_model)
        if historical is not None:
            count, _ = stored_rows(historical).filter(id__in=deleted_pks).delete()
            removed[historical._meta.db_table] += count
    return removed


def _hard_delete(model: type[models.Model], pks: list) -> Counter:
    removed: Counter = Counter()
    for start in range(0, len(pks), BATCH_SIZE):
        batch = pks[start : start + BATCH_SIZE]
        try:
            with transaction.atomic():
                removed += _delete_rows(model, batch)
        except (ProtectedError, RestrictedError):
            for pk in batch:
                try:
                    with transaction.atomic():
                        removed += _delete_rows(model, [pk])
                except (ProtectedError, RestrictedError):
                    removed[f"{model._meta.db_table} (kept: still referenced)"] += 1
    return removed


# --- history -----------------------------------------------------------------------


def _history_step(historical: type[models.Model], cutoff: dt.datetime) -> Step:
    return _expired_rows_step(
        "history", historical, lambda: stored_rows(historical).filter(history_date__lt=cutoff)
    )


def _expired_rows_step(
    kind: str, model: type[models.Model], expired: Callable[[], models.QuerySet]
) -> Step:
    """Rows deleted outright once expired (nothing references them)."""

    def run() -> Counter:
        count, _ = expired().delete()
        return Counter({model._meta.db_table: count})

    return Step(kind=kind, table=model._meta.db_table, count=lambda: expired().count(), run=run)


# --- security logs -----------------------------------------------------------------


def _security_log_step(organization: Organization, cutoff: dt.datetime) -> Step:
    def run() -> Counter:
        with owner_connection() as owner:
            count = _delete_security_logs(owner, organization.pk, cutoff)
        return Counter({SECURITY_LOGS: count})

    return Step(
        kind="security_logs",
        table=SECURITY_LOGS,
        count=lambda: AuditLog.objects.filter(
            organization_id=organization.pk, created_at__lt=cutoff
        ).count(),
        run=run,
    )


@contextmanager
def owner_connection() -> Iterator[psycopg.Connection]:
    """A connection as the owner role to the database the application uses."""
    if not settings.DATABASE_OWNER_URL:
        raise OwnerConnectionUnavailable(
            "Purging security logs needs DATABASE_OWNER_URL (the owner role): the runtime "
            "role may not delete from the audit log."
        )
    url = db_bootstrap.with_database(settings.DATABASE_OWNER_URL, connection.settings_dict["NAME"])
    with psycopg.connect(url) as owner_conn:
        yield owner_conn


def _delete_security_logs(owner: psycopg.Connection, organization_id, cutoff) -> int:
    with owner.transaction(), owner.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true)",
            [ORGANIZATION_SETTING, str(organization_id) if organization_id else ""],
        )
        if organization_id is None:
            cursor.execute(
                "DELETE FROM audit_logs WHERE organization_id IS NULL AND created_at < %s",
                [cutoff],
            )
        else:
            cursor.execute(
                "DELETE FROM audit_logs WHERE organization_id = %s AND created_at < %s",
                [organization_id, cutoff],
            )
        return cursor.rowcount


def purge_unassigned_security_logs(now: dt.datetime | None = None, *, dry_run: bool) -> int:
    """Security log rows of no organization (failed logins for unknown emails), kept as
    long as the default says. Only the owner role may see them."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=DEFAULTS["security_log_days"])
    with owner_connection() as owner:
        if dry_run:
            row = owner.execute(
                "SELECT count(*) FROM audit_logs WHERE organization_id IS NULL AND created_at < %s",
                [cutoff],
            ).fetchone()
            return row[0]
        return _delete_security_logs(owner, None, cutoff)
