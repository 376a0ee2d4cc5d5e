"""A write refused by a unique rule of the database, told in words: what it would have
made two of ("two pipelines with the same name"), read from the constraint it broke, not
the constraint's name. A restore meets these where the form of a save would have checked
them (a name taken by a row made since the row was deleted), and so does a save whose
form checks no such rule (a second identity provider of an organization)."""

from __future__ import annotations

import functools

from django.apps import apps
from django.db import models

from smartweb import outage

# A tenant's unique rules hold within its organization: "of the same organization" is
# never news to its users.
TENANT_FIELD = "organization"


def clash_of(exc: BaseException) -> str | None:
    """What the write refused by `exc` would have made two of, as words; None when `exc`
    is no unique violation, or of a table no model here has."""
    if not outage.is_duplicate(exc):
        return None
    diagnosis = _diagnosis(exc)
    model = _models_by_table().get(getattr(diagnosis, "table_name", None))
    if model is None:
        return None
    fields = _fields_of(model, getattr(diagnosis, "constraint_name", None))
    same_row = [field.verbose_name for field in fields if field.is_relation]
    same_value = [field.verbose_name for field in fields if not field.is_relation]
    words = f"two {model._meta.verbose_name_plural}"
    if same_row:
        words += f" of the same {_joined(same_row)}"
    if same_value:
        words += f" with the same {_joined(same_value)}"
    return words


def _diagnosis(exc: BaseException | None):
    """The driver's diagnostics of the error (its table and constraint), as the driver
    raised it or as Django wraps it."""
    while exc is not None:
        if getattr(exc, "diag", None) is not None:
            return exc.diag
        exc = exc.__cause__
    return None


@functools.cache
def _models_by_table() -> dict[str, type[models.Model]]:
    return {model._meta.db_table: model for model in apps.get_models()}


def _fields_of(model: type[models.Model], constraint_name: str | None) -> list[models.Field]:
    """The fields a unique constraint of `model` holds together (its organization left
    out); none for a constraint the model does not declare by name."""
    constraint = next(
        (c for c in model._meta.constraints if c.name == constraint_name),
        None,
    )
    if not isinstance(constraint, models.UniqueConstraint):
        return []
    names = list(constraint.fields)
    for expression in constraint.expressions:
        names += _named(expression)
    return [model._meta.get_field(name) for name in dict.fromkeys(names) if name != TENANT_FIELD]


def _named(expression) -> list[str]:
    """The fields an expression of a constraint reads: Lower("name") reads "name"."""
    if isinstance(expression, models.F):
        return [expression.name]
    return [node.name for node in expression.flatten() if isinstance(node, models.F)]


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
