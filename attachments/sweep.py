"""Stored files that no attachment row names, removed once they are old enough.

A file is written before its row and removed again when the row is not written, and a
row deleted for good has its file removed once the deletion commits (`attachments.files`).
What those steps cannot cover leaves a file that nothing names: a process killed between
the file and its row's commit (an upload, an organization's import), a removal the
storage refused after the row had gone, an organization deleted with its rows, a database
restored to a point before the files were written. Nobody can download such a file, but
it takes space and holds personal data past every retention period.

The sweep reads, organization folder by organization folder, the names its attachment
rows hold (soft-deleted ones included: a restore brings their files back) in that
organization's context, and removes every other file of the folder older than `grace`.
The grace is far above the time a row takes to commit after its file (statements are
bounded at 15 s), so an upload in progress is never taken. A folder whose organization is
gone goes whole, by the same rule. A row whose file is missing is reported, never changed:
that is a restore's question, not the sweep's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import uuid
from dataclasses import dataclass, field

from django.utils import timezone

from attachments.files import remove, storage
from attachments.models import Attachment
from smartweb.tenancy.context import tenant_context

log = logging.getLogger(__name__)

ROOT = "attachments"
DEFAULT_GRACE = dt.timedelta(days=1)


@dataclass
class FolderSweep:
    """One organization folder: what was (or, in a dry run, would be) removed."""

    organization: uuid.UUID
    organization_exists: bool
    removed: list[str] = field(default_factory=list)
    kept_recent: int = 0
    missing: list[str] = field(default_factory=list)


def _organization_folders() -> list[uuid.UUID]:
    try:  # not `exists()`: an object store has no folder objects to find
        folders, _ = storage().listdir(ROOT)
    except FileNotFoundError:  # nothing stored yet, on the file system
        return []
    found = []
    for name in folders:
        try:
            organization = uuid.UUID(name)
        except ValueError:  # not a folder attachments.files makes: left alone
            continue
        if str(organization) == name:
            found.append(organization)
    return sorted(found)


def _named_files(organization: uuid.UUID) -> set[str] | None:
    """The file names the organization's attachment rows hold; None when it is gone."""
    from accounts.models import Organization

    if not Organization.objects.filter(pk=organization).exists():
        return None
    with tenant_context(organization):
        return set(Attachment.all_objects.values_list("file", flat=True))


def sweep_folder(organization: uuid.UUID, *, grace: dt.timedelta, dry_run: bool) -> FolderSweep:
    named = _named_files(organization)
    result = FolderSweep(organization, organization_exists=named is not None)
    folder = f"{ROOT}/{organization}"
    _, stored = storage().listdir(folder)
    stored_names = {f"{folder}/{name}" for name in stored}
    cutoff = timezone.now() - grace
    for name in sorted(stored_names - (named or set())):
        if storage().get_modified_time(name) > cutoff:
            result.kept_recent += 1
            continue
        result.removed.append(name)
        if not dry_run:
            remove(name)
    result.missing = sorted((named or set()) - stored_names)
    if named is None and not dry_run and len(result.removed) == len(stored_names):
        _remove_empty_folder(folder)
    if result.removed and not dry_run:
        log.warning("Removed %d attachment files no row names from %s", len(result.removed), folder)
    if result.missing:
        log.warning("%d attachment rows of %s name missing files", len(result.missing), folder)
    return result


def _remove_empty_folder(folder: str) -> None:
    """A gone organization's emptied folder, on a file system (an object store has no
    folders to leave behind)."""
    try:
        path = storage().path(folder)
    except NotImplementedError:
        return
    # Not empty after all (a file written meanwhile), or gone already: left as it is.
    with contextlib.suppress(OSError):
        os.rmdir(path)


def sweep(*, grace: dt.timedelta = DEFAULT_GRACE, dry_run: bool = False) -> list[FolderSweep]:
    return [
        sweep_folder(organization, grace=grace, dry_run=dry_run)
        for organization in _organization_folders()
    ]
