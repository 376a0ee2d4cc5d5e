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
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.module_loading import import_string

from smartweb import json_input


@functools.cache
def _validator(schema: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(import_string(schema))


def _message(error: jsonschema_rs.ValidationError) -> str:
    where = ".".join(map(str, error.instance_path))
    return f"{where}: {error.message}" if where else error.message


class SchemaValidator:
    """Refuses a value that `json_input.check` refuses or that does not match `schema`,
    with one message per problem naming where it is (`lead_scoring.weights.website: …`)."""

    def __init__(self, schema: str):
        self.schema = schema

    def __call__(self, value: Any) -> None:
        json_input.check(value)
        validator = _validator(self.schema)
        if not validator.is_valid(value):
            raise ValidationError(sorted(_message(e) for e in validator.iter_errors(value)))

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
