"""The fields an email template may use: `{{ lead.contact_name }}`, `{{ sender.name }}`…

A deliberately small syntax, not Django's template language: a template is written by an
organization's admin and rendered with a lead's data, so it can reach only the values
listed here (no attribute walks, no filters, no tags), and an unknown field is refused
when the template is saved, with the list of the known ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import ValidationError

FIELD = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# A `{{` or `}}` left over once the fields are taken out: a field written wrongly.
STRAY = re.compile(r"\{\{|\}\}")


def _company(lead) -> str:
    return lead.company.name if lead.company_id else ""


FIELDS: dict[str, Callable] = {
    "lead.contact_name": lambda c: c["lead"].contact_name,
    "lead.contact_title": lambda c: c["lead"].contact_title,
    "lead.contact_email": lambda c: c["lead"].contact_email,
    "lead.contact_phone": lambda c: c["lead"].contact_phone,
    "lead.company": lambda c: _company(c["lead"]),
    "sender.name": lambda c: (c["sender"].full_name or c["sender"].email) if c["sender"] else "",
    "sender.email": lambda c: c["sender"].email if c["sender"] else "",
    "organization.name": lambda c: c["organization"].name,
}


def _shown(names) -> str:
    return ", ".join("{{ " + name + " }}" for name in names)


KNOWN = _shown(FIELDS)


def check(text: str, field_name: str) -> None:
    """Refuse `text` when it names a field not in FIELDS or leaves a brace pair open."""
    unknown = sorted({name for name in FIELD.findall(text) if name not in FIELDS})
    if unknown:
        raise ValidationError(
            {field_name: f"Unknown field {_shown(unknown)}. The fields are: {KNOWN}."},
            code="unknown_field",
        )
    if STRAY.search(FIELD.sub("", text)):
        raise ValidationError(
            {field_name: "A field is written {{ name }}: a “{{” or “}}” is left unclosed."},
            code="malformed_field",
        )


def render(text: str, *, lead, sender, organization) -> str:
    """`text` with each field replaced by its value (checked templates only)."""
    context = {"lead": lead, "sender": sender, "organization": organization}
    return FIELD.sub(lambda match: str(FIELDS[match.group(1)](context) or ""), text)
