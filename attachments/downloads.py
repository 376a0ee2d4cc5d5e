"""A stored file sent back to whoever may read its record (the API and the admin alike)."""

from __future__ import annotations

from django.http import FileResponse, Http404

from attachments import files
from attachments.models import Attachment


def file_response(attachment: Attachment) -> FileResponse:
    """The file as a download of its detected type: never sniffed, never rendered as a
    page (a sandbox if it were), never kept by a shared cache."""
    try:
        stored = files.storage().open(attachment.file, "rb")
    except FileNotFoundError as exc:
        # A row whose file is gone (a database restored without its files): not a 500.
        raise Http404("The file is missing from the storage.") from exc
    response = FileResponse(
        stored,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
