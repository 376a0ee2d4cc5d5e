"""SQL of the tenancy model: helper functions and per-table policies.

The helpers are STABLE and the policies call them as `(SELECT fn())`, so PostgreSQL
evaluates them once per statement (an InitPlan) and can use the value as an index
condition on `organization_id`. `current_setting(..., true)` returns '' after a reset,
hence NULLIF: an empty context is NULL, and `organization_id = NULL` matches nothing.
"""

CURRENT_ORGANIZATION_FUNCTION = "smartweb_current_organization_id"
CURRENT_USER_FUNCTION = "smartweb_current_user_id"

CREATE_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION {CURRENT_ORGANIZATION_FUNCTION}() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('smartweb.organization_id', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION {CURRENT_USER_FUNCTION}() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('smartweb.user_id', true), '')::uuid $$;
"""
DROP_FUNCTIONS = f"""
DROP FUNCTION IF EXISTS {CURRENT_ORGANIZATION_FUNCTION}();
DROP FUNCTION IF EXISTS {CURRENT_USER_FUNCTION}();
"""

TENANT_PREDICATE = f"organization_id = (SELECT {CURRENT_ORGANIZATION_FUNCTION}())"
POLICY_NAME = "tenant_isolation"


def enable_rls(table: str, *, using: str = TENANT_PREDICATE, check: str = TENANT_PREDICATE) -> str:
    return (
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY;'
        f' ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY;'
        f' CREATE POLICY {POLICY_NAME} ON "{table}" USING ({using}) WITH CHECK ({check});'
    )


def disable_rls(table: str) -> str:
    return (
        f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}";'
        f' ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY;'
        f' ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY;'
    )
