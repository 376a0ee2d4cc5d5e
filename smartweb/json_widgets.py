"""JSON columns edited as forms: a declared JSON object (see */json_schemas.py) shown
as the fields of a small form, one per key, instead of a raw JSON text box.

`JSONObjectField(SomeForm)` replaces a model form's JSON field. `SomeForm` is a
`JSONObjectForm`: its fields are the keys it edits, `to_value` / `from_value` convert
(e.g. a list shown as one line per item). Keys the form does not edit are kept as they
are, and a key left blank is removed, so saving a page unchanged changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst


class JSONObjectForm(forms.Form):
    """The keys of one JSON object, each a form field of the same name."""

    # Field name -> "lines" (a list shown one item a line), "csv" (a list, comma
    # separated) or "pairs" (an object shown as one "key: value" line per key).
    list_fields: dict[str, str] = {}

    @classmethod
    def initial_from(cls, value: dict | None) -> dict:
        initial = {}
        for name, item in (value or {}).items():
            kind = cls.list_fields.get(name)
            if kind == "lines" and isinstance(item, list):
                item = "\n".join(map(str, item))
            elif kind == "csv" and isinstance(item, list):
                item = ", ".join(map(str, item))
            elif kind == "pairs" and isinstance(item, dict):
                item = "\n".join(f"{key}: {text}" for key, text in item.items())
            initial[name] = item
        return initial

    def to_value(self, original: dict | None) -> dict:
        """`original` with the edited keys replaced (blank ones removed)."""
        value = {k: v for k, v in (original or {}).items() if k not in self.fields}
        for name in self.fields:
            item = self.cleaned_data.get(name)
            kind = self.list_fields.get(name)
            if isinstance(item, str):
                # Browsers send a text area's line breaks as CRLF.
                item = item.replace("\r\n", "\n")
            if kind:
                item = _split(item or "", kind)
            if item in (None, "", [], {}):
                continue
            before = (original or {}).get(name)
            # A list of the same items in another order is not a change.
            if isinstance(item, list) and isinstance(before, list) and _same_items(item, before):
                item = before
            value[name] = item
        return value


def _split(text: str, kind: str):
    if kind == "pairs":
        pairs = (line.partition(":") for line in text.splitlines() if line.strip())
        return {key.strip(): rest.strip() for key, _, rest in pairs}
    separator = "\n" if kind == "lines" else ","
    return [part.strip() for part in text.split(separator) if part.strip()]


def _same_items(one: list, other: list) -> bool:
    try:
        return sorted(one) == sorted(other)
    except TypeError:
        return False


class JSONObjectWidget(forms.Widget):
    """Renders the sub-form's fields (prefixed with the field's name); reads back the
    bound sub-form."""

    template_name = "smartweb/widgets/json_object.html"

    def __init__(self, form_class: type[JSONObjectForm], attrs=None):
        super().__init__(attrs)
        self.form_class = form_class

    def subform(self, name: str, value) -> JSONObjectForm:
        if isinstance(value, JSONObjectForm):
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = {}
        return self.form_class(initial=self.form_class.initial_from(value), prefix=name)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["subform"] = self.subform(name, value)
        return context

    def value_from_datadict(self, data, files, name):
        return self.form_class(data, prefix=name)

    def value_omitted_from_data(self, data, files, name):
        return False

    def use_required_attribute(self, initial):
        return False


class JSONObjectField(forms.Field):
    """A JSON object edited through a `JSONObjectForm`. Its cleaned value keeps the
    keys of the field's initial value that the form does not edit."""

    def __init__(self, form_class: type[JSONObjectForm], **kwargs):
        kwargs.setdefault("required", False)
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        kwargs.pop("max_length", None)
        super().__init__(widget=JSONObjectWidget(form_class), **kwargs)
        self.form_class = form_class

    def clean(self, value):
        if not isinstance(value, JSONObjectForm):
            return self.initial or {}
        if not value.is_valid():
            raise ValidationError(
                [
                    f"{value.fields[name].label or name}: {' '.join(errors)}"
                    if name in value.fields
                    else " ".join(errors)
                    for name, errors in value.errors.items()
                ]
            )
        return value.to_value(self._original)

    _original: Any = None

    def has_changed(self, initial, data) -> bool:
        if not isinstance(data, JSONObjectForm) or not data.is_valid():
            return True
        return data.to_value(initial) != (initial or {})


class KeepsJSONOriginalsMixin:
    """For a model form with `JSONObjectField`s: each field's cleaned value starts from
    the instance's stored value, so keys the form does not show are kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, JSONObjectField):
                field._original = getattr(self.instance, name, None) or {}


def json_object_html(value) -> str:
    """A stored JSON value for reading: an object as a list of its keys (capitalized,
    "_" as spaces) and values, a list as a bulleted list, "—" when empty."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, dict):
        items = ((capfirst(k.replace("_", " ")), json_object_html(v)) for k, v in value.items())
        return format_html(
            '<dl class="json-view">{}</dl>', format_html_join("", "<dt>{}</dt><dd>{}</dd>", items)
        )
    if isinstance(value, list):
        items = ((json_object_html(v),) for v in value)
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", items))
    return format_html("{}", value)
