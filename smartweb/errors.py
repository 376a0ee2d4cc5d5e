"""Refusals (validation errors, permission denials, invalid transitions) as the one line
of text an admin message, a form error or a bulk report shows."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def refusal_message(exc: Exception, default: str = "") -> str:
    """A ValidationError's messages joined; any other refusal's text, or `default` when
    it has none."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or default
