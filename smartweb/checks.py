"""System check: refuse to start when the database role could bypass Row Level Security.

It runs at start-up (runserver, every management command, and the WSGI/ASGI entry
points), connecting as the configured role. `migrate` runs as the owner role, which
passes too: it is no superuser and every table under RLS is FORCEd.
"""

from django.core.checks import Error, Warning, register
from django.db import DatabaseError, connection

ROLE_QUERY = "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
UNFORCED_OWNED_TABLES = """
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relforcerowsecurity
  AND pg_has_role(current_user, c.relowner, 'USAGE')
ORDER BY 1
"""


@register("smartweb")
def check_database_role(app_configs=None, **kwargs):
    try:
        with connection.cursor() as cursor:
            cursor.execute(ROLE_QUERY)
            superuser, bypassrls = cursor.fetchone()
            cursor.execute(UNFORCED_OWNED_TABLES)
            unforced = [row[0] for row in cursor.fetchall()]
    except DatabaseError as exc:
        return [
            Warning(
                f"Could not verify the database role ({exc.__class__.__name__}).",
                id="smartweb.W001",
            )
        ]
    finally:
        connection.close()
    errors = []
    if superuser or bypassrls:
        errors.append(
            Error(
                "The application connects as a role with SUPERUSER or BYPASSRLS: row level "
                "security would not apply.",
                hint="Point DATABASE_URL at the runtime role (python -m smartweb.db_bootstrap).",
                id="smartweb.E001",
            )
        )
    if unforced:
        errors.append(
            Error(
                "The application's role owns tables whose row level security is not FORCEd: "
                + ", ".join(unforced[:10]),
                hint="Run as the runtime role, or FORCE ROW LEVEL SECURITY on those tables.",
                id="smartweb.E002",
            )
        )
    return errors
