"""Model instances made from loaded rows without Model.__init__.

Django makes each loaded row an instance through `cls(*values)`: `__init__` sends
pre_init and post_init, then sets every field through `setattr` (a descriptor call per
reference). Where no signal has a receiver, the class keeps Django's `__init__`, and every
field's class attribute is one whose setting on a fresh instance only stores the value
(a column's DeferredAttribute, a reference's ForeignKeyDeferredAttribute, whose `__set__`
only clears a cached related row that a new instance does not have), the instance that
`__init__` would make is its `__dict__`: the state and the values by attribute name (a
deferred field left out, as `__init__` leaves it). On a page of 50 leads that is 0.1 ms
against 0.7 (bench/README.md, ADR 0039). Any other class takes Django's way.
"""

from __future__ import annotations

from django.db import models
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)
_NOT_PLAIN = ()
# Field sets of rows with deferred fields kept per class: a query's `only()` or `defer()`
# in the code. Past this many (names built at run time), they are worked out per row.
_KEPT_FIELD_SETS = 64


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


def _row_attnames(cls, field_names, width: int) -> tuple[str, ...]:
    """The attribute names of a row's values: every concrete field's, or, with deferred
    fields, those of `field_names` in the fields' order (as Django's `from_db` reads
    them); none when the row must go through `__init__`."""
    attnames = _plain_attnames(cls)
    if width == len(attnames) or not attnames:
        return attnames
    kept = cls.__dict__.get("_row_attnames")
    if kept is None:
        kept = cls._row_attnames = {}
    key = tuple(field_names)
    found = kept.get(key)
    if found is None:
        loaded = set(key)
        found = tuple(name for name in attnames if name in loaded)
        if len(found) != width:
            return _NOT_PLAIN
        if len(kept) < _KEPT_FIELD_SETS:
            kept[key] = found
    return found


class QuickLoadModel(models.Model):
    """A model whose rows load without `__init__` (see the module)."""

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        attnames = _row_attnames(cls, field_names, len(values))
        if not attnames or pre_init.has_listeners(cls) or post_init.has_listeners(cls):
            return super().from_db(db, field_names, values)
        instance = cls.__new__(cls)
        state = ModelState()
        state.adding = False
        state.db = db
        fields = instance.__dict__
        fields["_state"] = state
        fields.update(zip(attnames, values, strict=True))
        return instance
