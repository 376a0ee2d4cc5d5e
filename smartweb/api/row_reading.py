"""A serializer's output of a row, read by a plan made once per serializer instance.

DRF's `Serializer.to_representation` walks each field of each row the general way: a
generator of the readable fields, `field.get_attribute` through DRF's `get_attribute`
(a Mapping check and an `is_simple_callable` inspection per attribute), a `PKOnlyObject`
for a reference, and a `to_representation` call even where it returns the value as it is.
On a page of 50 leads that is ~1,300 such walks. The plan reads each field's attribute
directly and keeps a value that is already in API form (text, whole number, boolean,
choice, JSON) as it is; anything else takes DRF's own steps, so the output is the same
(tests/api/test_row_reading.py compares them for every list).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from operator import attrgetter

from rest_framework import fields, relations, serializers

ANY = object()  # a field whose every value is already its API form
_STOCK = serializers.Serializer.to_representation


def _native_types(field) -> frozenset | object:
    """The value types `field.to_representation` returns unchanged."""
    method = type(field).to_representation
    if method is fields.CharField.to_representation:
        return frozenset({str})
    if method is fields.IntegerField.to_representation:
        return frozenset({int})
    if method is fields.BooleanField.to_representation:
        return frozenset({bool})
    if method is fields.JSONField.to_representation and not field.binary:
        return ANY
    if method is fields.ChoiceField.to_representation and all(
        isinstance(key, str) for key in field.choice_strings_to_values.values()
    ):
        # A text value maps to the equal choice key, or stays as it is.
        return frozenset({str})
    return frozenset()


def _converter(field):
    if (
        type(field).to_representation is fields.UUIDField.to_representation
        and field.uuid_format == "hex_verbose"
    ):
        return uuid.UUID, str
    return None, field.to_representation


def _reference_attname(serializer, field) -> str | None:
    """The model column a primary-key reference reads (`merged_into` -> `merged_into_id`),
    where DRF would read the same through `serializable_value` into a PKOnlyObject."""
    if not (
        isinstance(field, relations.PrimaryKeyRelatedField)
        and type(field).get_attribute is relations.RelatedField.get_attribute
        and type(field).to_representation is relations.PrimaryKeyRelatedField.to_representation
        and field.use_pk_only_optimization()
        and len(field.source_attrs) == 1
    ):
        return None
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    try:
        return model._meta.get_field(field.source_attrs[0]).attname
    except Exception:  # not a model field (a property, a method): DRF's steps
        return None


def _step(serializer, field) -> tuple:
    """(name, kind, getter, native types, convertible type, convert, field)."""
    name = field.field_name
    attname = _reference_attname(serializer, field)
    if attname is not None:
        pk_field = field.pk_field
        wanted, convert = (None, None) if pk_field is None else _converter(pk_field)
        return name, "pk", attrgetter(attname), frozenset(), wanted, convert, field
    simple = (
        type(field).get_attribute is fields.Field.get_attribute and len(field.source_attrs) == 1
    )
    if not simple:
        return name, "drf", None, frozenset(), None, None, field
    wanted, convert = _converter(field)
    getter = attrgetter(field.source_attrs[0])
    return name, "attr", getter, _native_types(field), wanted, convert, field


def plan(serializer) -> list[tuple]:
    steps = serializer.__dict__.get("_row_plan")
    if steps is None:
        steps = [_step(serializer, f) for f in serializer.fields.values() if not f.write_only]
        serializer._row_plan = steps
    return steps


def _put_drf_value(result: dict, field, instance) -> None:
    """One field as DRF's Serializer.to_representation reads it (none when skipped)."""
    try:
        attribute = field.get_attribute(instance)
    except fields.SkipField:
        return
    check = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
    result[field.field_name] = None if check is None else field.to_representation(attribute)


def represent(serializer, instance) -> dict:
    """`serializer.to_representation(instance)` as DRF's would give it."""
    if isinstance(instance, Mapping):
        return _STOCK(serializer, instance)
    result = {}
    for name, kind, getter, native, wanted, convert, field in plan(serializer):
        if kind == "drf":
            _put_drf_value(result, field, instance)
            continue
        try:
            value = getter(instance)
        except Exception:  # absent or failing: DRF's handling and messages
            value = _ABSENT
        if value is _ABSENT or (kind == "attr" and callable(value)):
            _put_drf_value(result, field, instance)
        elif value is None:
            result[name] = None
        elif native is ANY or type(value) in native or convert is None:
            result[name] = value
        elif type(value) is wanted:
            result[name] = str(value)
        else:
            result[name] = convert(value)
    return result


_ABSENT = object()
