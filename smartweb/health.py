"""Liveness and database readiness in one cheap endpoint."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from smartweb import outage


def unavailable(**kwargs) -> JsonResponse:
    """The database cannot serve: also what smartweb.error_views answers for /healthz
    when the request's own transaction could not open."""
    return JsonResponse({"status": "error", "database": "unreachable"}, status=503, **kwargs)


@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return unavailable(headers={"Retry-After": str(outage.RETRY_AFTER_SECONDS)})
    return JsonResponse({"status": "ok", "database": "ok"})
