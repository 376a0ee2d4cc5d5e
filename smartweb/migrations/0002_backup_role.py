"""The backup role reads every table and sequence, present and future (it is BYPASSRLS
and read-only; smartweb.db_bootstrap creates it): a dump made with it holds every row."""

from django.conf import settings
from django.db import migrations


def _backup_role(schema_editor) -> str:
    role = settings.DATABASE_BACKUP_ROLE
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            raise RuntimeError(
                f"The backup role {role!r} does not exist. Create it first: "
                "python -m smartweb.db_bootstrap <superuser URL> (see README)."
            )
    return schema_editor.connection.ops.quote_name(role)


def grant_backup_role(apps, schema_editor):
    role = _backup_role(schema_editor)
    schema_editor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    schema_editor.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    schema_editor.execute(f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    schema_editor.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}"
    )
    schema_editor.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON SEQUENCES TO {role}"
    )


def revoke_backup_role(apps, schema_editor):
    role = _backup_role(schema_editor)
    schema_editor.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM {role}"
    )
    schema_editor.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON SEQUENCES FROM {role}"
    )
    schema_editor.execute(f"REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM {role}")
    schema_editor.execute(f"REVOKE SELECT ON ALL SEQUENCES IN SCHEMA public FROM {role}")


class Migration(migrations.Migration):
    dependencies = [("smartweb", "0001_platform")]

    operations = [migrations.RunPython(grant_backup_role, revoke_backup_role)]
