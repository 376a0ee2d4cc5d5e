"""The attachment files in Django's default storage (the file system under var/media, or
any S3-compatible store through django-storages: docs/guide.md).

A file is written before its row, under a random name, and removed again if the row
cannot be written; a row deleted for good (a purge, an erasure, a record's cascade) has
its file removed once that deletion commits, so a rolled-back purge keeps both.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.core.files.storage import storages
from django.db import transaction
from django.db.models.signals import post_delete

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024


def storage():
    return storages["default"]


def sha256_of(upload) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(CHUNK), b""):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


class StorageFailed(RuntimeError):
    """The storage did not take the file (a full disk, an unreachable bucket)."""


def write(upload, *, organization_id, extension: str) -> str:
    """Store the upload under a new random name in the organization's folder; the name."""
    name = f"attachments/{organization_id}/{uuid.uuid4().hex}{extension}"
    upload.seek(0)
    try:
        return storage().save(name, upload)
    except Exception as exc:
        logger.exception("Could not store the attachment file %s", name)
        raise StorageFailed("The file could not be stored; try again later.") from exc


def remove(name: str) -> None:
    """Remove a stored file; one already gone is not an error (a purge run twice)."""
    try:
        storage().delete(name)
    except OSError:
        logger.exception("Could not remove the attachment file %s", name)


def _removed_with_row(sender, instance, **kwargs) -> None:
    # A signal, not a service step: rows also go by cascade (a record purged by retention)
    # through Django's collector, which no service sees one by one.
    name = instance.file
    transaction.on_commit(lambda: remove(name))


def connect() -> None:
    from attachments.models import Attachment

    post_delete.connect(_removed_with_row, sender=Attachment, dispatch_uid="attachment-file")
