"""A model serializer's fields, built once per class and copied for each instance.

DRF's `ModelSerializer.get_fields` introspects the model and builds every field again for
each serializer instance (each request's list, each write): the model's field info, each
field's keyword arguments, each field's `__init__` and its validators, ~0.3–0.5 ms for a
lead. What it builds depends on the class alone (its Meta, declared fields and the
model); nothing in it reads the request. So the fields are built once, never bound (they
are templates), and each instance gets copies that it binds as DRF binds its own.

A plain field is copied by its attributes: binding sets the copy's own name, parent and
source, and the one list a field may add to after its `__init__` (its validators) is the
copy's own. A field that holds other fields (a nested serializer, a list's child, a
many-relation's child) is copied DRF's way, by `deepcopy`: `__init__` binds the child
to its parent, so a shallow copy would share it.
"""

from __future__ import annotations

import copy

from rest_framework import fields, relations, serializers


def _holds_fields(field: fields.Field) -> bool:
    return isinstance(field, serializers.BaseSerializer | relations.ManyRelatedField) or (
        hasattr(field, "child")
    )


def fresh_copy(field: fields.Field) -> fields.Field:
    """An unbound copy of `field`, as DRF's deepcopy would give, without running
    `__init__` again where the field holds no other field."""
    if _holds_fields(field):
        return copy.deepcopy(field)
    new = object.__new__(type(field))
    new.__dict__.update(field.__dict__)
    if "_validators" in new.__dict__:
        new._validators = list(new._validators)
    return new


def fields_of(serializer, build) -> dict[str, fields.Field]:
    """Fresh copies of the fields `build()` makes for the serializer's class, made once."""
    cls = type(serializer)
    templates = cls.__dict__.get("_field_templates")
    if templates is None:
        templates = build()
        cls._field_templates = templates
    return {name: fresh_copy(field) for name, field in templates.items()}
