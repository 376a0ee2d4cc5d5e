"""Form helpers shared by the apps' admin and forms."""

from __future__ import annotations

import html
from collections.abc import Container

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe


class MultilineField(forms.CharField):
    """Text from a textarea with its line breaks as stored: browsers send every break as
    CRLF, so a text of several lines saved unchanged would otherwise come back changed."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if value else value


def form_changes(form: forms.BaseForm, names: Container[str] | None = None) -> dict:
    """The changed values of a bound form (only those in `names`, if given), for the
    update services."""
    return {
        name: form.cleaned_data[name]
        for name in form.changed_data
        if names is None or name in names
    }


def keep_current_choices(form_class: type[forms.BaseModelForm]) -> type[forms.BaseModelForm]:
    """The form with each related field's current value kept among its choices.

    Choices are narrowed to what the user may pick now (their scope, live rows), but a
    row may point at something outside that: a lead assigned by a manager, a tag since
    deleted. Without its current value the dropdown shows blank and an unchanged save is
    refused or, worse, clears the link."""

    def __init__(self, *args, **kwargs):
        form_class.__init__(self, *args, **kwargs)
        if self.instance.pk is None:
            return
        for name, field in self.fields.items():
            if isinstance(field, forms.ModelChoiceField) and hasattr(field, "queryset"):
                current = _current_pks(self.instance, name)
                if current:
                    extra = field.queryset.model._base_manager.filter(pk__in=current)
                    if field.queryset.query.distinct:
                        extra = extra.distinct()
                    field.queryset = field.queryset | extra

    return type(form_class.__name__, (form_class,), {"__init__": __init__})


def _current_pks(instance, name: str) -> list:
    try:
        field = instance._meta.get_field(name)
    except Exception:  # noqa: BLE001  (a form field that is no model field)
        return []
    if field.many_to_many:
        return list(getattr(instance, name).values_list("pk", flat=True))
    if field.many_to_one or field.one_to_one:
        value = getattr(instance, field.attname)
        return [value] if value is not None else []
    return []


class PlainSelect(forms.Select):
    """Django's `<select>`, its options written here instead of through one template
    include each: a dropdown of the organization's members rendered in ~20 ms where this
    takes a few (bench/README.md). Same attributes, same selected option, same escaping;
    grouped choices go through Django's templates as before."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        if any(group_name for group_name, _, _ in widget["optgroups"]):
            return super().render(name, value, attrs, renderer)
        options = "".join(
            f'<option value="{_escaped("" if option["value"] is None else option["value"])}"'
            f"{flatatt(option['attrs']) if option['attrs'] else ''}>"
            f"{_escaped(option['label'])}</option>"
            for _, group, _ in widget["optgroups"]
            for option in group
        )
        select = f'<select name="{_escaped(widget["name"])}"{flatatt(widget["attrs"])}>'
        return mark_safe(f"{select}{options}</select>")  # noqa: S308  (every value escaped)


def _escaped(value) -> str:
    """As Django's `conditional_escape`, without its per-call lazy-text checks: HTML that
    is marked safe is kept, anything else escaped."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))
