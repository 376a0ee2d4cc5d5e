"""The server error page, which tells a database outage from a fault of the program:
an outage is 503 with `Retry-After` (JSON under /api/ and for /healthz, a short page
elsewhere, which tells a lock wait that ran out, the records held by another change, from
a database out of reach); a deadlock or serialization failure, which a concurrent change won, is 409
(nothing was saved, send it again); anything else is the plain 500 (in the API's shape
under /api/). Django calls the handler while handling the exception, which is how
`sys.exc_info()` names it. Nothing here touches the database.

With DEBUG on (`make run`), Django answers an uncaught exception with its debug page
instead of calling the handler: `DatabaseFailureMiddleware` gives an outage or a
conflict the same answer there, so that a restart of the database looks the same to a
client of a development server as to one of production."""

from __future__ import annotations

import sys

from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse

from smartweb import health, outage
from smartweb.api import errors
from smartweb.api.errors import ConcurrentChange, DatabaseUnavailable, error_body

OUTAGE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Briefly unavailable</title></head>
<body><h1>Briefly unavailable</h1>
<p>The database cannot be reached right now. Nothing was saved; try again in a moment.</p>
</body></html>
"""


LOCK_TIMEOUT_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Records in use</title></head>
<body><h1>Records in use</h1>
<p>{outage.LOCK_TIMEOUT_MESSAGE}</p>
</body></html>
"""


CONFLICT_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Changed at the same moment</title></head>
<body><h1>Changed at the same moment</h1>
<p>{outage.CONFLICT_MESSAGE} Go back and try again.</p>
</body></html>
"""


def server_error(request):
    return database_failure_response(request, sys.exc_info()[1]) or errors.server_error(request)


def database_failure_response(request, exc: BaseException | None):
    """The answer to a database outage (503) or a lost conflict (409); None for any other
    fault."""
    if outage.is_conflict(exc):
        return _conflict(request)
    if not outage.is_outage(exc):
        return None
    headers = {"Retry-After": str(outage.RETRY_AFTER_SECONDS)}
    if request.path == "/healthz":
        return health.unavailable(headers=headers)
    if request.path.startswith("/api/"):
        body = error_body(DatabaseUnavailable.default_code, str(DatabaseUnavailable.default_detail))
        return JsonResponse(body, status=503, headers=headers)
    page = LOCK_TIMEOUT_PAGE if outage.is_lock_timeout(exc) else OUTAGE_PAGE
    return HttpResponse(page, status=503, headers=headers)


# Where Django noted the exception it answered with its debug page (DEBUG on).
_FAILURE_ATTRIBUTE = "_database_failure"


@receiver(got_request_exception, dispatch_uid="smartweb.error_views.note_database_failure")
def note_database_failure(sender, request=None, **kwargs) -> None:
    """Sent by Django while it handles an exception nothing else answered."""
    exc = sys.exc_info()[1]
    if request is not None and (outage.is_outage(exc) or outage.is_conflict(exc)):
        setattr(request, _FAILURE_ATTRIBUTE, exc)


class DatabaseFailureMiddleware:
    """Second in MIDDLEWARE, after the request id: a request that failed on the database
    gets the outage or conflict answer, whatever page Django made of it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, _FAILURE_ATTRIBUTE, None)
        if exc is None or response.status_code != 500:
            return response
        return database_failure_response(request, exc)


def _conflict(request):
    if request.path.startswith("/api/"):
        body = error_body(ConcurrentChange.default_code, str(ConcurrentChange.default_detail))
        return JsonResponse(body, status=409)
    return HttpResponse(CONFLICT_PAGE, status=409)
