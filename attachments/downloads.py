"""A stored file sent back to whoever may read its record (the API and the admin alike)."""

from __future__ import annotations

from django.http import FileResponse

from attachments import files
from attachments.models import Attachment


def file_response(attachment: Attachment) -> FileResponse:
    """The file as a download of its detected type: never sniffed, never rendered as a
    page (a sandbox if it were), never kept by a shared cache."""
    response = FileResponse(
        files.storage().open(attachment.file, "rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
