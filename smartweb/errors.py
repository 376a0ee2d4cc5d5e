"""Refusals (validation errors, permission denials, invalid transitions) as the one line
of text an admin message, a form error or a bulk report shows."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError


class Refusal(Exception):  # noqa: N818  (a refusal, not an error of the program)
    """A step the domain's rules refuse (an invalid transition, a duplicate): the API
    answers it as a client error, the admin as a message."""


# What a refusal that says nothing of its own says.
NOT_PERMITTED = "You do not have permission to do this."

# What a write may be refused with: shown to the user, never a server error.
REFUSALS = (ValidationError, PermissionDenied, Refusal)


def refusal_message(exc: Exception, default: str = "") -> str:
    """A ValidationError's messages joined; any other refusal's text, or `default` when
    it has none."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or default
