"""Schemathesis hooks of `make fuzz` (loaded through SCHEMATHESIS_HOOKS).

A request that keeps to the schema may still be refused with a 400 for a rule no schema
can state: a referenced row that does not exist, the organization's last admin, a lead's
qualification threshold. It must never be refused for its form — a type, a format, a
length, a required field: that would be a schema that says less than the server checks.
`schema_valid_request_refused_for_its_form` tells the two apart by the refusal's messages:
DRF's own messages about a value's form are listed from its field classes."""

from __future__ import annotations

import re

import schemathesis
from django.conf import settings

if not settings.configured:
    settings.configure(USE_I18N=False)

# The related and nested fields join Field's subclasses once their modules are imported.
from rest_framework import fields, relations, serializers  # noqa: E402, F401

# Messages about what a row or a rule says, not about the value's form.
NOT_ABOUT_FORM = {"does_not_exist"}


def _field_classes(root=fields.Field):
    for cls in root.__subclasses__():
        yield cls
        yield from _field_classes(cls)


def _form_messages() -> re.Pattern:
    templates = {
        str(message)
        for cls in {fields.Field, *_field_classes()}
        for key, message in getattr(cls, "default_error_messages", {}).items()
        if key not in NOT_ABOUT_FORM
    }
    patterns = (re.sub(r"\\\{\w+\\\}", ".*", re.escape(t)) for t in templates)
    return re.compile("|".join(sorted(patterns)))


FORM_MESSAGES = _form_messages()


def _messages(details):
    if isinstance(details, dict):
        for value in details.values():
            yield from _messages(value)
    elif isinstance(details, list):
        for value in details:
            yield from _messages(value)
    else:
        yield str(details)


@schemathesis.check
def schema_valid_request_refused_for_its_form(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        details = response.json()["error"]["details"]
    except (ValueError, KeyError, TypeError):
        details = response.text
    about_form = [m for m in _messages(details) if FORM_MESSAGES.fullmatch(m)]
    if about_form:
        raise AssertionError(
            "A request valid by the schema was refused for its form: " + "; ".join(about_form)
        )
    return None
