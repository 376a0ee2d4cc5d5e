"""Model instances made from whole rows without Model.__init__.

Django makes each loaded row an instance through `cls(*values)`: `__init__` sends
pre_init and post_init, then sets every field through `setattr` (a descriptor call per
reference). Where no signal has a receiver, the class keeps Django's `__init__`, and every
field's class attribute is one whose setting on a fresh instance only stores the value
(a column's DeferredAttribute, a reference's ForeignKeyDeferredAttribute, whose `__set__`
only clears a cached related row that a new instance does not have), the instance that
`__init__` would make is its `__dict__`: the state and the values by attribute name. On a
page of 50 leads that is 0.1 ms against 0.7 (bench/README.md). A row with deferred fields,
or any other class, takes Django's way.
"""

from __future__ import annotations

from django.db import models
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)
_NOT_PLAIN = ()


def _plain_attnames(cls: type[models.Model]) -> tuple[str, ...]:
    """The concrete fields' attribute names in row order, or none when a row of `cls`
    must go through `__init__`."""
    found = cls.__dict__.get("_plain_attnames")
    if found is None:
        attnames = tuple(field.attname for field in cls._meta.concrete_fields)
        plain = cls.__init__ is models.Model.__init__ and all(
            type(getattr(cls, attname, None)) in _PLAIN_DESCRIPTORS for attname in attnames
        )
        found = attnames if plain else _NOT_PLAIN
        cls._plain_attnames = found
    return found


class QuickLoadModel(models.Model):
    """A model whose whole rows load without `__init__` (see the module)."""

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        attnames = _plain_attnames(cls)
        if (
            len(values) != len(attnames)
            or pre_init.has_listeners(cls)
            or post_init.has_listeners(cls)
        ):
            return super().from_db(db, field_names, values)
        instance = cls.__new__(cls)
        state = ModelState()
        state.adding = False
        state.db = db
        fields = instance.__dict__
        fields["_state"] = state
        fields.update(zip(attnames, values, strict=True))
        return instance
