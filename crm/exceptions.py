"""Domain errors of the CRM; the API and the admin turn them into answers."""

from __future__ import annotations

from collections.abc import Iterable

from smartweb.errors import Refusal


class InvalidTransition(Refusal):
    """A workflow step the object's state does not allow (HTTP 409 with the allowed ones)."""

    def __init__(self, message: str, *, allowed: Iterable[str] = ()):
        self.allowed = [str(a) for a in allowed]
        super().__init__(message)
