"""The organization's stored files, carried with the rows that name them.

Attachment rows name files in the default storage (attachments.files). A move between
deployments with storages of their own must carry the files too, or the moved rows name
files the target does not have. The export copies every file its attachment rows name
into `files/` of the export directory, checked against the row's SHA-256, and lists them
in the manifest. The import writes each one into this process's storage under the same
name before the rows commit: a file already there with the same content is left as it is
(a move within one deployment, whose storage both sides share, copies nothing), one there
with other content stops the import, and what the import wrote is removed again when it
does not commit.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

import psycopg
from django.core.files import File

from attachments.files import CHUNK, storage
from smartweb.ops import OpsError

DIRECTORY = "files"
FILE_ROWS = (
    "SELECT file, sha256 FROM attachments_attachment WHERE organization_id = %s ORDER BY file"
)


def _safe_name(name: str, organization: uuid.UUID) -> str:
    """A storage name as attachments.files makes them, in the organization's folder: a
    manifest's name is never a path out of the export directory or the storage."""
    if not re.fullmatch(rf"attachments/{organization}/[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)?", name):
        raise OpsError(f"{name!r} is not an attachment file name of {organization}.")
    return name


def _copy(source, target) -> str:
    """Copy an open file into another; the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(CHUNK), b""):
        digest.update(chunk)
        target.write(chunk)
    return digest.hexdigest()


def _sha256_of(name: str) -> str:
    with storage().open(name, "rb") as stored:
        return _copy(stored, _Discard())


def sha256_of_file(path: Path) -> str:
    with path.open("rb") as source:
        return _copy(source, _Discard())


def export_files(conn: psycopg.Connection, organization: uuid.UUID, into: Path) -> dict:
    """Copy the files the organization's attachment rows name into `into/files/`; the
    manifest's entry. A file the storage has lost is listed as missing (its row moves all
    the same, as broken as it was); one whose content differs from its row's checksum
    stops the export."""
    listed, missing = [], []
    for name, sha256 in conn.execute(FILE_ROWS, [organization]).fetchall():
        path = into / DIRECTORY / _safe_name(name, organization)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with storage().open(name, "rb") as stored, path.open("wb") as copy:
                copied = _copy(stored, copy)
        except FileNotFoundError:
            path.unlink(missing_ok=True)
            missing.append(name)
            continue
        if copied != sha256:
            raise OpsError(f"The stored file {name} differs from its row's checksum.")
        listed.append({"name": name, "sha256": sha256})
    return {"files": listed, "missing": missing}


def load_files(directory: Path, manifest: dict) -> list[str]:
    """Write the export's files into this process's storage; the names written (to
    remove should the import not commit). Refuses, writing nothing more, a file whose
    content is not the manifest's or a name the storage holds with other content."""
    organization = uuid.UUID(manifest["organization"]["id"])
    written: list[str] = []
    try:
        # An export made before files were carried lists none.
        for entry in manifest.get("files", {}).get("files", []):
            name = _safe_name(entry["name"], organization)
            with (directory / DIRECTORY / name).open("rb") as source:
                if _copy(source, _Discard()) != entry["sha256"]:
                    raise OpsError(f"The exported file {name} differs from the manifest.")
                if storage().exists(name):
                    if _sha256_of(name) != entry["sha256"]:
                        raise OpsError(f"This storage holds {name} with other content.")
                    continue
                source.seek(0)
                if storage().save(name, File(source)) != name:
                    raise OpsError(f"The storage renamed {name}.")
                written.append(name)
    except BaseException:
        remove_files(written)
        raise
    return written


def remove_files(names: list[str]) -> None:
    for name in names:
        storage().delete(name)


class _Discard:
    """A file that keeps nothing: `_copy` into it only computes the checksum."""

    def write(self, data: bytes) -> None:
        pass
