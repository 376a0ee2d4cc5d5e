"""One transaction per request, around the view *and* the rendering of its response.

The organization context lives in the request's transaction (`set_config(…, true)`), so
that transaction must last until the response is complete. Django's ATOMIC_REQUESTS
wraps the view alone: a `TemplateResponse` (every admin page, DRF's browsable API) is
rendered after the view returns, when that transaction and the context have ended, and
every query made while rendering (form choices, inlines, action confirmations) saw no
rows. Here the transaction wraps the whole of the view handling, rendering included; a
streamed response, consumed after the request's handling ends, runs in a transaction
of its own with the same context (docs/decisions/0008).

A request's body (within DATA_UPLOAD_MAX_MEMORY_SIZE) is read before the transaction
opens, so a slow upload holds no database session.

The Python side of the context is cleared before and after, so a reused worker thread
never starts a request with the previous one's state; the database side is
transaction-local and ends with each transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import transaction

from smartweb.tenancy.context import _State, _state, activate, deactivate


class RequestTransactionMiddleware:
    """Must be the last middleware: it wraps exactly the view and its rendering."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _read_body(request)
        token = _state.set(_State())
        try:
            with transaction.atomic():
                response = self.get_response(request)
                if response.status_code >= 500:
                    # An error the view did not survive: nothing it wrote may stay.
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
    """Read a body that fits in memory before the transaction opens: a client uploading
    slowly then holds a worker thread, not a database session idle in a transaction.
    (A larger body is streamed to the view: file uploads, bounded by the web's
    idle_in_transaction_session_timeout.)"""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if length > 0 and (limit is None or length <= limit):
        request.body  # noqa: B018  (read and kept by the request)


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
