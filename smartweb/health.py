"""Liveness and database readiness in one cheap endpoint; with `?full=1`, for the
platform's staff or a caller with HEALTH_TOKEN, backups, WAL archiving and the read
replica too."""

import hmac

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from smartweb import access, backups, jobs, outage, replica


def unavailable(**kwargs) -> JsonResponse:
    """The database cannot serve: also what smartweb.error_views answers for /healthz
    when the request's own transaction could not open."""
    return JsonResponse({"status": "error", "database": "unreachable"}, status=503, **kwargs)


def may_see_full_report(request) -> bool:
    """The report is the platform's (every organization's failed jobs among it): for a
    platform super admin (`access.platform_admin`) or the platform's staff, neither on a
    session one organization's identity provider signed in, which reaches it alone."""
    from accounts.tenancy import confined_organization  # the platform layer: when used

    user = request.user
    if user.is_authenticated and user.is_active:
        staff = user.is_staff and confined_organization(request) is None
        if staff or access.platform_admin(request):
            return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = settings.HEALTH_TOKEN
    return bool(expected) and scheme == "Bearer" and hmac.compare_digest(token, expected)


@require_GET
def healthz(request):
    full = request.GET.get("full") == "1"
    if full and not may_see_full_report(request):
        return JsonResponse({"status": "forbidden", "detail": "staff or HEALTH_TOKEN"}, status=403)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
            report = (
                backups.health(cursor, settings.BACKUP_DIR, settings.BACKUP_MAX_AGE_HOURS)
                if full
                else {"status": "ok"}
            )
            if full:
                report = _with_failed_jobs(report, jobs.failed_tasks(cursor))
    except DatabaseError:
        return unavailable(headers={"Retry-After": str(outage.RETRY_AFTER_SECONDS)})
    if full:
        report["replica"] = replica_report(report)
    return JsonResponse({**report, "database": "ok"})


def replica_report(report: dict) -> dict:
    """The read replica's state; one that cannot serve degrades the report (reporting
    reads still work, from the primary)."""
    state = replica.status()
    if state["configured"] and state["state"] != "ok":
        report["problems"].append(f"read replica {state['state']}: reporting reads on the primary")
        report["status"] = "degraded"
    return state


def _with_failed_jobs(report: dict, failed: list[str]) -> dict:
    problems = [*report["problems"], *(f"last {name} job failed" for name in failed)]
    status = "degraded" if problems else report["status"]
    return {**report, "failed_jobs": failed, "problems": problems, "status": status}
