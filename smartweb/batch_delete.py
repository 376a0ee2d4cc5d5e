"""Deleting a large set of rows a batch per transaction, so that a backlog (a log's
first purge after months) holds no long locks and no large transaction."""

from __future__ import annotations

from django.db import transaction

BATCH = 1000


def delete_in_batches(rows) -> int:
    """Delete what the queryset `rows` selects, BATCH rows per transaction; the queryset
    is evaluated afresh for each batch. Returns how many were deleted."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(rows.values_list("pk", flat=True)[:BATCH])
            if not ids:
                return deleted
            rows.model._default_manager.filter(pk__in=ids).delete()
        deleted += len(ids)
