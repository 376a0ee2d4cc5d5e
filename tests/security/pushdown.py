"""Does a statement carry the organization for every tenant table it touches? The rule a
distributed planner routes a query to one shard by (ADR 0035): each tenant table named
in it is compared on `organization_id` (with a value, or with another tenant table's in
a join), or, for an INSERT, given it as a column.

Read from Django's SQL text: tables and aliases after FROM, JOIN, UPDATE and INTO, and
`alias."organization_id"` next to `=` or `IN`, which a select list never has."""

from __future__ import annotations

import re

from django.db import connection

from smartweb.tenancy.distribution import TENANT_TABLES, catalog_parameters

_KEYWORDS = {
    "where",
    "on",
    "inner",
    "left",
    "right",
    "full",
    "cross",
    "join",
    "set",
    "as",
    "group",
    "order",
    "limit",
    "offset",
    "for",
    "using",
    "returning",
    "values",
    "natural",
    "lateral",
    "union",
    "except",
    "intersect",
    "having",
    "window",
}
_REFERENCE = re.compile(
    r'\b(FROM|JOIN|UPDATE|INTO)\s+"(?P<table>[^"]+)"(?:\s+(?:AS\s+)?(?P<alias>"[^"]+"|\w+))?',
    re.IGNORECASE,
)


def tenant_tables() -> set[str]:
    with connection.cursor() as cursor:
        query = f"SELECT oid::regclass::text FROM ({TENANT_TABLES}) t"
        cursor.execute(query, catalog_parameters("public"))
        return {row[0] for row in cursor.fetchall()}


def _compared(sql: str, alias: str) -> bool:
    column = rf'(?:"{re.escape(alias)}"|\b{re.escape(alias)})\."organization_id"'
    return re.search(rf"{column}\s*(?:=|IN\b)|=\s*\(?{column}", sql, re.IGNORECASE) is not None


def unrouted(sql: str, tables: set[str]) -> list[str]:
    """The tenant tables of `sql` it does not restrict to one organization."""
    missing = []
    for match in _REFERENCE.finditer(sql):
        table, alias = match["table"], match["alias"]
        if table not in tables:
            continue
        if alias is None or alias.lower() in _KEYWORDS:
            alias = table
        alias = alias.strip('"')
        if match.group(1).upper() == "INTO":
            columns = sql[match.end() : sql.find(")", match.end())]
            if '"organization_id"' not in columns:
                missing.append(table)
        elif not _compared(sql, alias):
            missing.append(table)
    return missing
