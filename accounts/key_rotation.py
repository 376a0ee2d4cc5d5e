"""Re-encrypt every stored secret under the newest key (accounts.crypto).

A model names its encrypted columns in `encrypted_fields`; every such model is found,
so a secret added later is rotated without touching this module. Rows are taken in
batches, each batch in its own short transaction with its rows locked (FOR UPDATE), so a
concurrent change of a secret waits for the batch instead of being overwritten, and the
application keeps serving: until the end, the old key still decrypts what is not done.
Tenant tables are rotated organization by organization, in each one's context.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from django.apps import apps
from django.db import models, transaction

from accounts import crypto
from smartweb.models import TenantModel
from smartweb.tenancy.context import tenant_context


def encrypted_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if getattr(model, "encrypted_fields", ())]


def _scopes(model: type[models.Model]) -> Iterator[Callable[[], AbstractContextManager]]:
    """Where the model's rows can be read, as transactions to open one batch at a time:
    each organization's context, or (a global table) a plain transaction."""
    if not issubclass(model, TenantModel):
        yield transaction.atomic
        return
    from accounts.models import Organization

    for organization_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
        yield functools.partial(tenant_context, organization_id)


def _rotate_batch(rows: list[models.Model], fields: tuple[str, ...], counts: Counter) -> None:
    changed = []
    for row in rows:
        for field in fields:
            value = getattr(row, field)
            if not value:
                continue
            counts["values"] += 1
            if crypto.is_current(value):
                continue
            try:
                setattr(row, field, crypto.reencrypt(value))
            except crypto.UnreadableSecret:
                counts["unreadable"] += 1
                continue
            counts["reencrypted"] += 1
            changed.append(row)
    if changed:
        # bulk_update: no save() signals, no history rows, no version bump for a secret
        # whose value did not change.
        type(rows[0]).objects.bulk_update(list(dict.fromkeys(changed)), fields)


def rotate_model(model: type[models.Model], batch_size: int = 500) -> Counter:
    """Counts of values seen, re-encrypted and unreadable (left as they are)."""
    fields = tuple(model.encrypted_fields)
    manager = model._base_manager
    counts: Counter = Counter()
    for scope in _scopes(model):
        last_pk = None
        while True:
            with scope():
                batch = manager.select_for_update().order_by("pk")
                if last_pk is not None:
                    batch = batch.filter(pk__gt=last_pk)
                rows = list(batch[:batch_size])
                if rows:
                    _rotate_batch(rows, fields, counts)
            if len(rows) < batch_size:
                break
            last_pk = rows[-1].pk
    return counts
