"""JSON columns checked against a schema declared once, when they are written.

`DeclaredJSONField(schema="leads.json_schemas.ONLINE_PRESENCE")` is a JSONField whose
value must match that JSON Schema (draft 2020-12, checked by `jsonschema-rs`: ~1 µs for
a valid online presence where the pure-Python `jsonschema` took ~130 µs, which a
100,000-row import would feel) and pass `json_input.check` (depth, NUL characters). The
check is one of the field's validators,
so every path that writes it sees it: a model's `full_clean` (the services), the admin's
model forms (the error shows on the field) and DRF's model serializers (a 400 naming the
field); `validate(model, field, value)` (its error keyed by the field) and `check`
serve services that set a value without a full clean. The admin's form also decodes
the text it is given with `json_input`.

The schema is named by its dotted path, so a migration records the name, not the schema.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema_rs
import orjson
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.module_loading import import_string

from smartweb import json_input


@functools.cache
def _validator(schema: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(import_string(schema))


# `iter_errors` copies the whole value into each error it finds: its time and memory
# grow with the value's size times its number of problems (a saved view's query of 2,000
# unknown keys, 40 KB, took 80 s and 2 GB; 10,000 took more than 20 GB). Up to this size
# every problem is listed; past it, the first one only, which `validate` finds in a pass.
EVERY_ERROR_MAX_BYTES = 2048
# A message quotes the value it is about (`{…} has more than 20 properties`): past this
# length its middle is left out, so an error never answers a large value back.
MESSAGE_MAX_LENGTH = 300


def _message(error: jsonschema_rs.ValidationError) -> str:
    where = ".".join(map(str, error.instance_path))
    text = error.message
    if len(text) > MESSAGE_MAX_LENGTH:
        keep = MESSAGE_MAX_LENGTH // 2
        text = f"{text[:keep]}…{text[-keep:]}"
    return f"{where}: {text}" if where else text


def _errors(validator, value: Any) -> list[jsonschema_rs.ValidationError]:
    size = len(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))
    if size <= EVERY_ERROR_MAX_BYTES:
        return list(validator.iter_errors(value))
    try:
        validator.validate(value)
    except jsonschema_rs.ValidationError as error:
        return [error]
    return []


class SchemaValidator:
    """Refuses a value that `json_input.check` refuses or that does not match `schema`,
    with one message per problem naming where it is (`lead_scoring.weights.website: …`);
    for a large value, its first problem only (EVERY_ERROR_MAX_BYTES)."""

    def __init__(self, schema: str):
        self.schema = schema

    def __call__(self, value: Any) -> None:
        json_input.check(value)
        validator = _validator(self.schema)
        if not validator.is_valid(value):
            messages = sorted(_message(e) for e in _errors(validator, value))
            raise ValidationError(messages or ["Does not match its declared form."])

    def __eq__(self, other):
        return isinstance(other, SchemaValidator) and other.schema == self.schema


class _CheckedDecoder(json.JSONDecoder):
    """Decodes a form's JSON text with `json_input.loads`; what `check` refuses is an
    error saying why (`json_input.Refused`), anything else not JSON."""

    def decode(self, s, *args, **kwargs):
        try:
            return json_input.loads(s)
        except ValueError as exc:
            raise json.JSONDecodeError(str(exc), s, 0) from exc


class CheckedJSONFormField(forms.JSONField):
    def bound_data(self, data, initial):
        # A refused text is shown back as it was typed, as Django does with invalid JSON.
        try:
            return super().bound_data(data, initial)
        except json_input.Refused:
            return forms.fields.InvalidJSONInput(data)


class DeclaredJSONField(models.JSONField):
    # Only a missing value skips the validators: "", [] and {} are values to check too.
    empty_values = [None]

    def __init__(self, *args, schema: str, **kwargs):
        self.schema = schema
        self.default_validators = [SchemaValidator(schema)]
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        return name, path, args, {**kwargs, "schema": self.schema}

    def formfield(self, **kwargs):
        return super().formfield(
            **{"form_class": CheckedJSONFormField, **kwargs, "decoder": _CheckedDecoder}
        )


def check(model: type[models.Model], field: str, value: Any) -> None:
    """Run `model.field`'s validators on `value`: a ValidationError of its messages (for
    a form field's or a column's own cleaning)."""
    model._meta.get_field(field).run_validators(value)


def validate(model: type[models.Model], field: str, value: Any) -> None:
    """`check`, its ValidationError keyed by the field: {field: messages}."""
    try:
        check(model, field, value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc
