"""SQL for the related rows a list reads in its own page query: a correlated sub-select
per listed row, by id, written once from model metadata.

Not joins: under RLS the planner cannot size a joined tenant table, and drove pages from
the related side (a lead page joined to companies took 790 ms instead of 1 ms at 1M
leads). Not prefetches either: a query and a related manager or model per row cost more
Python than the page itself (bench/README.md). Tenant rows are filtered on the current
organization explicitly, a literal for the planner as the tenant managers give. The SQL
names the outer table, so these are for a list's own query, not one nested in another.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import Field, JSONField
from django.db.models.expressions import Col, Expression, RawSQL

from accounts.models import User


def column(model, field: str, alias: str | None = None) -> str:
    """`alias.column` (the table name when no alias) of a model field, quoted."""
    return kept_column(model, model._meta.get_field(field).column, alias)


def kept_column(model, name: str, alias: str | None = None) -> str:
    """`alias.name` (the table name when no alias), quoted: also a column the database
    keeps that Django does not know (a lead's `listed_tags`, ADR 0037)."""
    quote = connection.ops.quote_name
    return f"{alias or quote(model._meta.db_table)}.{quote(name)}"


class KeptColumn(Expression):
    """A column the database keeps that Django does not know, of the query's own table,
    for a filter (`.alias(name=KeptColumn(name, TextField()))`): a column of the query's
    table alias, renamed with it when the query is nested in another (an action's
    `pk__in`, a duplicate-free list's `EXISTS`), where `kept_column`'s SQL would still
    name the table: the outer query's, or none."""

    def __init__(self, name: str, output_field: Field):
        super().__init__(output_field=output_field)
        self.name = name

    def resolve_expression(self, query=None, *args, **kwargs):
        column = self.output_field.clone()
        column.set_attributes_from_name(self.name)
        column.model = query.model  # of its table, as a model's own field is
        return Col(query.get_initial_alias(), column, self.output_field)


class ListedJSONField(JSONField):
    """The output field of a `json` sub-select. `json`, not `jsonb`: built as text as it
    goes, in the fields' order, where `jsonb` is built as a tree, sorted, then printed
    (0.1-0.3 ms of a lead page's ~4 ms in PostgreSQL at 1M leads). psycopg decodes `json`
    itself (Django hands only `jsonb` to the field), so the value arrives decoded."""

    def from_db_value(self, value, expression, connection):
        return value


def json_object(model, alias: str, fields: tuple[str, ...]) -> str:
    """A JSON object of the fields of `alias`, a row of `model`, keyed by field name."""
    pairs = (f"'{name}', {column(model, name, alias)}" for name in fields)
    return f"json_build_object({', '.join(pairs)})"


def listed(sql: str, params: list, output_field=None) -> RawSQL:
    """A sub-select as an annotation: a JSON object (the default) or a single value of
    `output_field`. Its SQL is made of model metadata and field names from code; values
    are parameters."""
    return RawSQL(sql, params, output_field=output_field or ListedJSONField())  # noqa: S611


@functools.cache
def user_summary(model, foreign_key: str) -> str:
    """The user that `model.foreign_key` points to, as a JSON object of its summary fields
    (`User.SUMMARY_FIELDS`; users are global rows: no organization filter)."""
    return (
        f"(SELECT {json_object(User, 'u', User.SUMMARY_FIELDS)} FROM {User._meta.db_table} u"
        f" WHERE u.id = {column(model, foreign_key)})"
    )
