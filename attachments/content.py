"""What an uploaded file is, read from its bytes, never from its name alone (ADR 0030).

A short list of types is allowed, each known by its magic number; the name's extension
must agree with what the bytes are, so an .exe renamed .pdf, a PNG called .pdf or an HTML
page called .txt is refused with a message saying why. Office files are zip archives:
their directory is read (not extracted) and refused when it would inflate far beyond its
size, holds macros, or is not the document it claims to be.
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Detected type -> the extensions a name of that type may have.
ALLOWED: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "text/plain": (".txt",),
    "text/csv": (".csv",),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
}
ALLOWED_EXTENSIONS = sorted({ext for exts in ALLOWED.values() for ext in exts})

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# Office documents: the part that makes the archive that document.
_OFFICE_PARTS = {DOCX: "word/document.xml", XLSX: "xl/workbook.xml"}
# A zip whose entries would inflate beyond either bound is refused unread.
MAX_ARCHIVE_ENTRIES = 2000
MAX_INFLATION_RATIO = 100
# Markup a browser would run if it ever rendered a "text" file as a page.
_MARKUP = (b"<script", b"<html", b"<svg", b"<!doctype", b"<?xml", b"<iframe", b"<body")
# C0 controls other than tab, line feed, form feed and carriage return: binary data.
_BINARY = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


class Refused(ValidationError):
    """The file is not one of the allowed types, or not what its name says."""


class TooLarge(Refused):
    """The file is larger than ATTACHMENT_MAX_BYTES."""


@dataclass(frozen=True)
class Checked:
    content_type: str
    name: str  # the original name, made safe to keep and to send back


def max_bytes() -> int:
    return settings.ATTACHMENT_MAX_BYTES


def safe_name(name: str) -> str:
    """The original name without a path, control characters or quotes, at most 200
    characters with its extension kept; it is shown and sent back, never used as a path."""
    base = os.path.basename(name.replace("\\", "/"))
    cleaned = "".join(
        "_" if unicodedata.category(c).startswith("C") or c in '"<>:|?*;' else c
        for c in unicodedata.normalize("NFC", base)
    ).strip(" .")
    stem, ext = os.path.splitext(cleaned)
    return (stem[: 200 - len(ext)] + ext) if cleaned else ""


def check(upload, name: str) -> Checked:
    """The upload's type and safe name, or `Refused` (`TooLarge`) saying why."""
    size = upload.size
    if size > max_bytes():
        raise TooLarge(f"The file is {size} bytes; the limit is {max_bytes()} bytes.")
    if size == 0:
        raise Refused("The file is empty.")
    cleaned = safe_name(name)
    extension = os.path.splitext(cleaned)[1].lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise Refused(
            f"Files named {extension or 'without an extension'} are not accepted; "
            f"allowed: {', '.join(ALLOWED_EXTENSIONS)}."
        )
    detected = _detect(upload, extension)
    if extension not in ALLOWED[detected]:
        raise Refused(f"The file's content is {detected}, which a {extension} file is not.")
    return Checked(content_type=detected, name=cleaned)


def _detect(upload, extension: str) -> str:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"PK\x03\x04":
        return _office_type(upload)
    return _text_type(upload, extension)


def _office_type(upload) -> str:
    try:
        with zipfile.ZipFile(upload) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Refused("The file is a damaged zip archive.") from exc
    finally:
        upload.seek(0)
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        raise Refused(f"The archive holds more than {MAX_ARCHIVE_ENTRIES} entries.")
    inflated = sum(entry.file_size for entry in entries)
    if inflated > max(upload.size, 1) * MAX_INFLATION_RATIO:
        raise Refused("The archive would inflate more than 100 times its size.")
    names = {entry.filename for entry in entries}
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise Refused("Documents with macros are not accepted.")
    if "[Content_Types].xml" in names:
        for content_type, part in _OFFICE_PARTS.items():
            if part in names:
                return content_type
    raise Refused("The file is a zip archive, not a Word or Excel document.")


def _text_type(upload, extension: str) -> str:
    """Plain text or CSV: UTF-8 without binary control characters or markup."""
    data = upload.read()
    upload.seek(0)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused("The file is not one of the allowed types (nor UTF-8 text).") from exc
    if _BINARY.search(text):
        raise Refused("The file is not one of the allowed types (it holds binary data).")
    lowered = data.lower()
    if any(marker in lowered for marker in _MARKUP):
        raise Refused("Text files holding HTML, SVG or XML markup are not accepted.")
    return "text/csv" if extension == ".csv" else "text/plain"
