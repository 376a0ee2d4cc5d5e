"""The server error page, which tells a database outage from a fault of the program:
an outage is 503 with `Retry-After` (JSON under /api/ and for /healthz, a short page
elsewhere); a deadlock or serialization failure, which a concurrent change won, is 409
(nothing was saved, send it again); anything else is the plain 500 (in the API's shape
under /api/). Django calls the handler while handling the exception, which is how
`sys.exc_info()` names it. Nothing here touches the database."""

from __future__ import annotations

import sys

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


CONFLICT_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Changed at the same moment</title></head>
<body><h1>Changed at the same moment</h1>
<p>{outage.CONFLICT_MESSAGE} Go back and try again.</p>
</body></html>
"""


def server_error(request):
    exc = sys.exc_info()[1]
    if outage.is_conflict(exc):
        return _conflict(request)
    if not outage.is_outage(exc):
        return errors.server_error(request)
    headers = {"Retry-After": str(outage.RETRY_AFTER_SECONDS)}
    if request.path == "/healthz":
        return health.unavailable(headers=headers)
    if request.path.startswith("/api/"):
        body = error_body(DatabaseUnavailable.default_code, str(DatabaseUnavailable.default_detail))
        return JsonResponse(body, status=503, headers=headers)
    return HttpResponse(OUTAGE_PAGE, status=503, headers=headers)


def _conflict(request):
    if request.path.startswith("/api/"):
        body = error_body(ConcurrentChange.default_code, str(ConcurrentChange.default_detail))
        return JsonResponse(body, status=409)
    return HttpResponse(CONFLICT_PAGE, status=409)
