"""Errors are JSON of one shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from smartweb import outage
from smartweb.errors import Refusal


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class Conflict(exceptions.APIException):
    """An invalid state transition (`details` names the allowed next states), or another
    refusal of the domain's rules (`code` names it: `erased` for an erased lead)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is not in a state that allows this."
    default_code = "conflict"

    def __init__(self, detail=None, *, allowed=None, code=None):
        super().__init__(detail, code)
        self.allowed = allowed


class ConcurrentChange(exceptions.APIException):
    """A deadlock or serialization failure: a concurrent change to the same rows won, and
    this one was rolled back whole. Sending it again will most likely succeed."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = outage.CONFLICT_MESSAGE
    default_code = "concurrent_change"


class DatabaseUnavailable(exceptions.APIException):
    """The database is unreachable, restarting, out of connections, or a statement or
    lock wait ran out of time: try again shortly (`Retry-After`)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is briefly unavailable. Try again shortly."
    default_code = "service_unavailable"
    wait = outage.RETRY_AFTER_SECONDS  # DRF sends it as Retry-After


class PreconditionFailed(exceptions.APIException):
    """A change sent with an `If-Match` version that is no longer the row's."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "This was changed since you read it: see its current state in details.current,"
        " and send your change again with the new ETag."
    )
    default_code = "precondition_failed"

    def __init__(self, *, current: dict, etag: str):
        super().__init__()
        self.current = current
        self.etag = etag


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Send If-Match with the ETag of the version you are changing."
    default_code = "precondition_required"


class IdempotencyKeyReused(exceptions.APIException):
    """An `Idempotency-Key` sent again with another request than its first."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        "This Idempotency-Key was used for a different request; use a new key for a new one."
    )
    default_code = "idempotency_key_reused"


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _code(exc) -> str:
    codes = exc.get_codes() if hasattr(exc, "get_codes") else None
    if isinstance(codes, str):
        return codes
    return getattr(exc, "default_code", "error")


def exception_handler(exc, context):
    # A refused request writes nothing: roll back the request's transaction (DRF's own
    # rollback looks for ATOMIC_REQUESTS, which RequestTransactionMiddleware replaces).
    # The record of the refusal is a durable write, kept (smartweb.tenancy.durable).
    if transaction.get_connection().in_atomic_block:
        transaction.set_rollback(True)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, IntegrityError):
        exc = Conflict("The change conflicts with existing data (a duplicate or a reference).")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, Refusal):  # one the view did not answer itself
        exc = Conflict(str(exc), code=getattr(exc, "code", None))
    elif outage.is_conflict(exc):
        exc = ConcurrentChange()
    elif outage.is_outage(exc):
        exc = DatabaseUnavailable()
    elif isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = TooLarge(f"The request body is larger than {limit} bytes.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        message, details = "Invalid input.", data
    else:
        message = data.get("detail", str(exc)) if isinstance(data, dict) else str(data)
        details = {}
    headers = _headers(response)
    if isinstance(exc, Conflict) and exc.allowed is not None:
        details = {"allowed": exc.allowed}
    if isinstance(exc, PreconditionFailed):
        details = {"current": exc.current}
        headers["ETag"] = exc.etag
    body = error_body(_code(exc), str(message), details)
    return Response(body, status=response.status_code, headers=headers)


def _headers(response) -> dict:
    return {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After")}


# Django's own error pages (URLs no view matched, exceptions no view handled, suspicious
# requests, denials outside DRF): under /api/ in the API's shape, elsewhere Django's HTML.


def _error_page(status_code: int, code: str, message: str, html_view):
    def view(request, exception=None):
        if request.path.startswith(API_PREFIX):
            return JsonResponse(error_body(code, message), status=status_code)
        return html_view(request) if exception is None else html_view(request, exception)

    return view


API_PREFIX = "/api/"
bad_request = _error_page(400, "bad_request", "The request is malformed.", defaults.bad_request)
permission_denied = _error_page(
    403, "permission_denied", "You do not have permission.", defaults.permission_denied
)
page_not_found = _error_page(404, "not_found", "Not found.", defaults.page_not_found)
server_error = _error_page(500, "server_error", "A server error occurred.", defaults.server_error)
