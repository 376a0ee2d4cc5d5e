"""One transaction per request, around the view *and* the rendering of its response.

The organization context lives in the request's transaction (`set_config(…, true)`), so
that transaction must last until the response is complete. Django's ATOMIC_REQUESTS
wraps the view alone: a `TemplateResponse` (every admin page, DRF's browsable API) is
rendered after the view returns, when that transaction and the context have ended, and
every query made while rendering (form choices, inlines, action confirmations) saw no
rows. Here the transaction wraps the whole of the view handling, rendering included; a
streamed response, consumed after the request's handling ends, runs in a transaction
of its own with the same context (docs/decisions/0008).

A request's body is read before the transaction opens (kept in memory, or in a temporary
file when large), so a slow upload holds no database session.

The Python side of the context is cleared before and after, so a reused worker thread
never starts a request with the previous one's state; the database side is
transaction-local and ends with each transaction.

A write that must stay when the request's writes are rolled back (the audit row of a
refused sign-in answered with a 502) is marked durable: it runs after the transaction, in
one of its own (smartweb.tenancy.durable, docs/decisions/0040).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import transaction

from smartweb.tenancy import durable
from smartweb.tenancy.context import _State, _state, activate, deactivate

BUFFER_CHUNK_BYTES = 64 * 1024


class RequestTransactionMiddleware:
    """Must be the last middleware: it wraps exactly the view and its rendering."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _read_body(request)
        token = _state.set(_State())
        try:
            # Durable writes (the record of a refused sign-in) run after the transaction,
            # kept even when it is rolled back (smartweb.tenancy.durable).
            with durable.collected(), transaction.atomic():
                response = self.get_response(request)
                if response.status_code >= 500:
                    # An error the view did not survive: nothing it wrote may stay but
                    # its durable writes.
                    transaction.set_rollback(True)
                state = _state.get()
            if response.streaming and state.organization_id is not None:
                response.streaming_content = _streamed_in_context(state, response.streaming_content)
            return response
        finally:
            _state.reset(token)

    def process_exception(self, request, exception):
        # The view (or the rendering of its response) raised: roll its writes back,
        # whatever response the exception becomes.
        transaction.set_rollback(True)


def _read_body(request) -> None:
    """Read the body before the transaction opens: a client uploading slowly then holds
    a worker thread, not a database session idle in a transaction (which the database
    ends after its idle_in_transaction_session_timeout, failing the request). A body
    that fits in memory is read and kept by the request; a larger one, up to
    REQUEST_BODY_BUFFER_MAX_BYTES (file uploads, CSV imports), is copied into a temporary
    file the view then reads at disk speed. One larger still is streamed to the view:
    it is over every limit the views set, and refused."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length <= 0:
        return
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or length <= limit:
        request.body  # noqa: B018  (read and kept by the request)
    elif length <= settings.REQUEST_BODY_BUFFER_MAX_BYTES:
        request._stream = _buffered(request._stream, length, in_memory=limit)


def _buffered(stream, length: int, *, in_memory: int):
    """The first `length` bytes of `stream`, read now into a file (in memory up to
    `in_memory` bytes) positioned at its start."""
    buffer = tempfile.SpooledTemporaryFile(max_size=in_memory)  # noqa: SIM115 - kept by the request
    remaining = length
    while remaining > 0 and (chunk := stream.read(min(remaining, BUFFER_CHUNK_BYTES))):
        buffer.write(chunk)
        remaining -= len(chunk)
    buffer.seek(0)
    return buffer


def _streamed_in_context(state: _State, chunks: Iterable) -> Iterator:
    """Produce a streamed response's chunks in a transaction with the request's context;
    the transaction ends with the stream (or when the client goes away)."""
    with transaction.atomic():
        activate(
            organization_id=state.organization_id, user=state.user, membership=state.membership
        )
        try:
            yield from chunks
        finally:
            # Not a token reset: a server may resume the stream in another context.
            deactivate()
