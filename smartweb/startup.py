"""Start-up guard for servers that do not run Django's system checks (gunicorn, uvicorn)."""

from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured

from smartweb.checks import check_database_role


def ensure_secure_database_role() -> None:
    errors = [issue for issue in check_database_role() if isinstance(issue, Error)]
    if errors:
        raise ImproperlyConfigured("; ".join(error.msg for error in errors))
