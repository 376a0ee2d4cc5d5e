"""The statements that distribute the schema by organization on a Citus cluster, read
from the catalog (docs/scale.md carries them; a test holds the page to this output).

Citus takes them in an order: a table is made a Citus table after every table it
references (a reference table may point only at reference tables, a distributed one at
distributed tables of its colocation group and at reference tables), and a policy with
a sub-select is refused on a distributed table. So the plan is:

1. every policy's `(SELECT f())` becomes `f()` (the same value: `f` is STABLE);
2. the functions the policies call, created on the workers, where the shards' policies
   run them;
3. `citus.enable_unsafe_triggers`, when a table the plan distributes has triggers;
4. reference tables: the global tables tenant tables reference, and what those reference;
5. tenant tables (ADR 0035's, `organization_id` in every key), by organization, all
   colocated with ANCHOR, which references no other tenant table and so goes first;
6. the rest stays on the coordinator: as Citus local tables where a foreign key ties it
   to a reference table (Citus converts them when it makes that table a reference
   table), as plain tables otherwise (the job queue among them).
"""

from __future__ import annotations

import re
from collections import defaultdict

from smartweb.tenancy.distribution import (
    DISTRIBUTION_COLUMN,
    POLICY_FUNCTION_JOINS,
    TENANT_TABLES,
    catalog_parameters,
)

# The colocation group's first table: an organization's companies. It must reference no
# other tenant table; isolating a tenant names it (docs/scale.md).
ANCHOR = "leads_company"

_TABLES = f"""
SELECT c.oid::regclass::text, c.oid IN ({TENANT_TABLES})
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY 1
"""

_FOREIGN_KEYS = """
SELECT DISTINCT con.conrelid::regclass::text, con.confrelid::regclass::text
FROM pg_constraint con
JOIN pg_namespace n ON n.oid = con.connamespace AND n.nspname = %(schema)s
WHERE con.contype = 'f' AND con.conparentid = 0 AND con.conrelid <> con.confrelid
"""

_POLICIES = """
SELECT pol.polrelid::regclass::text, quote_ident(pol.polname),
       pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid)
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
ORDER BY 1, 2
"""

_POLICY_FUNCTIONS = f"""
SELECT DISTINCT p.oid::regprocedure::text
{POLICY_FUNCTION_JOINS}
ORDER BY 1
"""

_TRIGGERS = """
SELECT DISTINCT t.tgrelid::regclass::text
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
WHERE NOT t.tgisinternal
ORDER BY 1
"""

# How PostgreSQL shows a policy's `(SELECT f())`.
_SUB_SELECT = re.compile(r"\( SELECT (\w+)\(\) AS \1\)")
_CALL = r"\1()"


def _ordered(tables: set[str], references: dict[str, set[str]], first: str | None = None):
    """`tables` with each after the ones of them it references (by name where free)."""
    placed: list[str] = [first] if first else []
    waiting = tables - set(placed)
    while waiting:
        ready = sorted(t for t in waiting if not (references[t] & waiting))
        if not ready:
            raise ValueError(f"foreign keys in a cycle among {sorted(waiting)}")
        placed.extend(ready)
        waiting -= set(ready)
    return placed


def _reachable(start: set[str], edges: dict[str, set[str]], within: set[str]) -> set[str]:
    found, frontier = set(start), list(start)
    while frontier:
        for other in edges[frontier.pop()] & within:
            if other not in found:
                found.add(other)
                frontier.append(other)
    return found


def plan(cursor, schema: str = "public") -> list[str]:
    """The plan's lines: SQL statements, and comments saying why and what stays put."""
    parameters = catalog_parameters(schema)
    cursor.execute(_TABLES, parameters)
    tenant = {table: is_tenant for table, is_tenant in cursor.fetchall()}
    cursor.execute(_FOREIGN_KEYS, parameters)
    references: dict[str, set[str]] = defaultdict(set)
    for table, target in cursor.fetchall():
        references[table].add(target)

    distributed = {table for table, is_tenant in tenant.items() if is_tenant}
    if ANCHOR not in distributed or references[ANCHOR] & distributed:
        raise ValueError(f"{ANCHOR} must be a tenant table that references no other one")
    targets = {target for table in distributed for target in references[table]} - distributed
    reference = _reachable(targets, references, set(tenant))
    if reference & distributed:
        raise ValueError(f"global tables lead to tenant tables {sorted(reference & distributed)}")
    coordinator = set(tenant) - distributed - reference
    linked: dict[str, set[str]] = defaultdict(set)  # foreign keys both ways
    for table in coordinator:
        for target in references[table] & coordinator:
            linked[table].add(target)
            linked[target].add(table)
    tied = {table for table in coordinator if references[table] & reference}
    citus_local = _reachable(tied, linked, coordinator)

    lines = [
        "-- 1. Citus refuses a policy with a sub-select on a Citus table: call the function"
        " directly.",
    ]
    cursor.execute(_POLICIES, parameters)
    for table, policy, using, check in cursor.fetchall():
        clauses = {"USING": using, "WITH CHECK": check}
        if any(_SUB_SELECT.search(expression or "") for expression in clauses.values()):
            direct = " ".join(
                f"{clause} ({_SUB_SELECT.sub(_CALL, expression)})"
                for clause, expression in clauses.items()
                if expression
            )
            lines.append(f"ALTER POLICY {policy} ON {table} {direct};")

    lines.append("-- 2. The functions the policies call, on every worker.")
    cursor.execute(_POLICY_FUNCTIONS, parameters)
    lines += [f"SELECT create_distributed_function('{row[0]}');" for row in cursor.fetchall()]

    cursor.execute(_TRIGGERS, parameters)
    triggered = [row[0] for row in cursor.fetchall() if row[0] in distributed | reference]
    if triggered:
        lines.append(f"-- 3. Tables with triggers: {', '.join(triggered)}.")
        lines.append("SET citus.enable_unsafe_triggers = on;")

    lines.append("-- 4. Reference tables, each after the ones it references.")
    lines += [
        f"SELECT create_reference_table('{table}');" for table in _ordered(reference, references)
    ]
    lines.append(f"-- 5. Tenant tables by organization, colocated with {ANCHOR}.")
    for table in _ordered(distributed, references, first=ANCHOR):
        colocation = "none" if table == ANCHOR else ANCHOR
        lines.append(
            f"SELECT create_distributed_table('{table}', '{DISTRIBUTION_COLUMN}',"
            f" colocate_with => '{colocation}');"
        )
    lines.append("-- 6. On the coordinator, Citus local tables (keys into reference tables):")
    lines += [f"--   {table}" for table in sorted(citus_local)]
    lines.append("-- On the coordinator, plain tables:")
    lines += [f"--   {table}" for table in sorted(coordinator - citus_local)]
    return lines
