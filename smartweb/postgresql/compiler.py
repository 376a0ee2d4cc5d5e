"""Django's PostgreSQL compilers; a GROUP BY that names a tenant row by its primary key
names its organization too.

Django groups by a row's primary key alone and lets PostgreSQL read the row's other
columns from it (functional dependency). That holds only for every column of the
primary key, which for a tenant table is `(organization_id, id)` (ADR 0035).
"""

from django.db.backends.postgresql.compiler import (
    SQLAggregateCompiler,
    SQLDeleteCompiler,
    SQLInsertCompiler,
    SQLUpdateCompiler,
)
from django.db.backends.postgresql.compiler import SQLCompiler as BaseSQLCompiler

from smartweb.tenancy.operations import is_tenant_model

__all__ = [
    "SQLAggregateCompiler",
    "SQLCompiler",
    "SQLDeleteCompiler",
    "SQLInsertCompiler",
    "SQLUpdateCompiler",
]


class SQLCompiler(BaseSQLCompiler):
    def collapse_group_by(self, expressions, having):
        expressions = super().collapse_group_by(expressions, having)
        if not self.connection.features.allows_group_by_selected_pks:
            return expressions
        grouped = {(getattr(e, "alias", None), getattr(e, "target", None)) for e in expressions}
        for expression in list(expressions):
            target = getattr(expression, "target", None)
            if target is None or not target.primary_key or not is_tenant_model(target.model):
                continue
            organization = target.model._meta.get_field("organization")
            if (expression.alias, organization) not in grouped:
                expressions.append(organization.get_col(expression.alias))
                grouped.add((expression.alias, organization))
        return expressions
