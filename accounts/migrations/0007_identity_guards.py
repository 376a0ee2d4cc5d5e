"""Guards of the global identity in the database itself (ADR 0009):

- a membership is unique per (organization, user) over all its rows, soft-deleted ones
  included, so that assignees and owners can reference it with a composite key;
- the runtime role cannot change a user's platform flags (is_superuser, is_staff);
- the admin's change log (`django_admin_log`, tenant data with no organization) is no
  longer written; the runtime role may not read or write it, and its rows are removed.
"""

from django.conf import settings
from django.db import migrations

# A user removed and invited again had a second row; the live one (or the newest) stays.
# The owner reads every organization's rows here by lifting FORCE for this transaction.
MEMBERSHIP_KEY = """
ALTER TABLE accounts_membership NO FORCE ROW LEVEL SECURITY;
DELETE FROM accounts_membership old
 USING accounts_membership newer
 WHERE old.organization_id = newer.organization_id
   AND old.user_id = newer.user_id
   AND old.id <> newer.id
   AND (old.deleted_at IS NOT NULL AND newer.deleted_at IS NULL
        OR (old.deleted_at IS NULL) = (newer.deleted_at IS NULL)
           AND old.joined_at < newer.joined_at);
ALTER TABLE accounts_membership FORCE ROW LEVEL SECURITY;
ALTER TABLE accounts_membership
  ADD CONSTRAINT accounts_membership_org_user_key UNIQUE (organization_id, user_id);
"""
MEMBERSHIP_KEY_REVERSE = """
ALTER TABLE accounts_membership DROP CONSTRAINT IF EXISTS accounts_membership_org_user_key;
"""

# Column privileges would make every plain `save()` of a user fail (an UPDATE sets all
# columns); the trigger refuses only an actual change, by a role that does not own the
# table (the runtime role). Operators change the flags as the owner role.
USER_FLAGS_GUARD = """
CREATE FUNCTION accounts_user_platform_flags_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.is_superuser, NEW.is_staff) IS DISTINCT FROM (OLD.is_superuser, OLD.is_staff)
       AND NOT pg_has_role(current_user,
                           (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE')
    THEN
        RAISE EXCEPTION 'is_superuser and is_staff are changed by the platform operator only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_user_platform_flags_guard
    BEFORE UPDATE OF is_superuser, is_staff ON accounts_user
    FOR EACH ROW EXECUTE FUNCTION accounts_user_platform_flags_guard();
"""
USER_FLAGS_GUARD_REVERSE = """
DROP TRIGGER IF EXISTS accounts_user_platform_flags_guard ON accounts_user;
DROP FUNCTION IF EXISTS accounts_user_platform_flags_guard();
"""


def close_admin_log(apps, schema_editor):
    role = schema_editor.connection.ops.quote_name(settings.DATABASE_RUNTIME_ROLE)
    schema_editor.execute("DELETE FROM django_admin_log")
    schema_editor.execute(f"REVOKE ALL ON django_admin_log FROM {role}")


def open_admin_log(apps, schema_editor):
    role = schema_editor.connection.ops.quote_name(settings.DATABASE_RUNTIME_ROLE)
    schema_editor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON django_admin_log TO {role}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_invitations_and_member_keys"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [
        migrations.RunSQL(MEMBERSHIP_KEY, reverse_sql=MEMBERSHIP_KEY_REVERSE),
        migrations.RunSQL(USER_FLAGS_GUARD, reverse_sql=USER_FLAGS_GUARD_REVERSE),
        migrations.RunPython(close_admin_log, open_admin_log),
    ]
