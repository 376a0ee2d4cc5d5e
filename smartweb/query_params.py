"""Query parameters are text that filters, searches and pages compare in PostgreSQL,
which cannot hold a NUL character (psycopg refuses to send one: a server error). So a
parameter holding one is refused for every URL at once, naming it: under /api/ in the
API's error shape, elsewhere (the admin's searches and filters) as a plain 400. The same
holds for the path, whose parts are looked up as ids and keys (a public form's key)."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse

from smartweb import json_input
from smartweb.api.errors import API_PREFIX, error_body


class RefuseNulInQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if json_input.NUL in request.path:
            return _refusal(request, "path")
        for name, values in request.GET.lists():
            if json_input.NUL in name or any(json_input.NUL in value for value in values):
                return _refusal(request, name.replace(json_input.NUL, ""))
        return self.get_response(request)


def _refusal(request, name: str):
    details = {name or "query": [json_input.NUL_MESSAGE]}
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("invalid", "Invalid input.", details), status=400)
    return HttpResponseBadRequest(f"{name}: {json_input.NUL_MESSAGE}", content_type="text/plain")
