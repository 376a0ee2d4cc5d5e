"""A token's look-up as a PL/pgSQL function, so that its plan is kept.

Every API request runs the token look-up (smartweb.api.authentication): the token, its
user and organization, the membership with its role's grants and the organization's
identity provider, seven relations under their policies. Sent as a statement, PostgreSQL
planned it on each request (1.3 ms of the 3 ms it took, in process); the application
prepares nothing (the transaction pooler, ADR 0023). A PL/pgSQL function's statement is
prepared by the server session itself and its plan kept for the session's life.

SECURITY INVOKER: it runs as the runtime role, under the same policies in the token's
organization context as the statement did. It returns whole rows (the tables' row types),
so it follows their columns as later migrations change them.
"""

from django.conf import settings
from django.db import migrations

NAME = "smartweb_token_lookup"
FUNCTION = f"""
CREATE OR REPLACE FUNCTION {NAME}(org uuid, key text)
    RETURNS TABLE(
        r_token public.accounts_apitoken,
        r_user public.accounts_user,
        r_organization public.accounts_organization,
        r_membership public.accounts_membership,
        r_provider public.sso_identityprovider,
        r_role_grants text[],
        r_object_grants boolean
    )
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN QUERY
    SELECT t, u, o, m, p,
           ARRAY(SELECT ARRAY[g.resource, g.action, g.scope]::text[]
                   FROM public.accounts_rolepermission g
                  WHERE g.organization_id = t.organization_id AND g.role_id = m.role_id),
           EXISTS(SELECT FROM public.accounts_userobjectgrant x
                   WHERE x.organization_id = t.organization_id AND x.user_id = t.user_id)
      FROM public.accounts_apitoken t
      JOIN public.accounts_user u ON u.id = t.user_id
      JOIN public.accounts_organization o ON o.id = t.organization_id
      LEFT JOIN public.accounts_membership m ON m.organization_id = t.organization_id
           AND m.user_id = t.user_id AND m.deleted_at IS NULL
      LEFT JOIN public.sso_identityprovider p ON p.organization_id = t.organization_id
     WHERE t.organization_id = org AND t.key_hash = key;
END
$$;
REVOKE ALL ON FUNCTION {NAME}(uuid, text) FROM PUBLIC;
"""


def forwards(apps, schema_editor):
    runtime = schema_editor.connection.ops.quote_name(settings.DATABASE_RUNTIME_ROLE)
    schema_editor.execute(FUNCTION)
    schema_editor.execute(f"GRANT EXECUTE ON FUNCTION {NAME}(uuid, text) TO {runtime}")


def backwards(apps, schema_editor):
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {NAME}(uuid, text)")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_apitoken_sso_authorization"),
        ("sso", "0003_sso_requirements"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
