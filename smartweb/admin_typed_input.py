"""What a person typed into a change form whose row was deleted before they saved it.

The save is refused and their page, now the deleted row's read-only page, has no form
left to show the input in (ADR 0049). The refusal's message carries it instead: each
field they changed, by its label, with what they typed in a read-only box they can copy
from (line breaks kept), to restore the row and type it again or to note it elsewhere.
"""

from __future__ import annotations

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BOX = (
    '<div class="typed-input"><label>{}<br><textarea readonly rows="{}" cols="60">{}</textarea>'
    "</label></div>"
)


def typed_values(form: forms.BaseForm) -> list[tuple[str, str]]:
    """The fields of the bound `form` whose input differs from its row, each with its
    label and what was typed (a choice shown as its label)."""
    typed = []
    for name in form.changed_data:
        field = form.fields[name]
        raw = field.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
        try:
            value = field.clean(raw)
        except forms.ValidationError:
            value = raw
        if isinstance(value, list | tuple) or hasattr(value, "model"):  # several choices
            shown = ", ".join(str(item) for item in value)
        else:
            shown = "" if value is None else str(value)
        typed.append((str(field.label or name), shown))
    return typed


def typed_input_html(form: forms.BaseForm) -> SafeString:
    """The typed values as the message shows them; empty when nothing was changed."""
    typed = typed_values(form)
    if not typed:
        return SafeString("")
    boxes = format_html_join(
        "", BOX, ((label, min(max(value.count("\n") + 1, 1), 8), value) for label, value in typed)
    )
    return format_html(" What you typed, not saved:{}", boxes)
