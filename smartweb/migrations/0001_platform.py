"""The platform's database objects: tenancy helper functions and the runtime role's grants.

Runs before every other migration so that the default privileges cover each table the
owner role creates afterwards.
"""

from django.conf import settings
from django.db import migrations

from smartweb.tenancy import sql


def _runtime_role(schema_editor) -> str:
    role = settings.DATABASE_RUNTIME_ROLE
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            raise RuntimeError(
                f"The runtime role {role!r} does not exist. Create it first: "
                "python -m smartweb.db_bootstrap <superuser URL> (see README)."
            )
    return schema_editor.connection.ops.quote_name(role)


def grant_runtime_role(apps, schema_editor):
    role = _runtime_role(schema_editor)
    schema_editor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    schema_editor.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
    )
    schema_editor.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}"
    )
    schema_editor.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
    )
    # The migration ledger is the owner's business.
    schema_editor.execute(f"REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {role}")


def revoke_runtime_role(apps, schema_editor):
    role = _runtime_role(schema_editor)
    schema_editor.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {role}"
    )
    schema_editor.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {role}"
    )


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    run_before = [("contenttypes", "0001_initial"), ("auth", "0001_initial")]

    operations = [
        migrations.RunSQL(sql.CREATE_FUNCTIONS, reverse_sql=sql.DROP_FUNCTIONS),
        migrations.RunPython(grant_runtime_role, revoke_runtime_role),
    ]
