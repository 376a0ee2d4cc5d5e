"""Domain errors of lead generation; the API and the admin turn them into answers."""

from __future__ import annotations

from smartweb.errors import Refusal


class InvalidTransition(Refusal):
    """A status change that the lead workflow does not allow (HTTP 409)."""

    def __init__(self, *, current: str, requested: str, allowed: list[str]):
        self.current = current
        self.requested = requested
        self.allowed = allowed
        allowed_text = ", ".join(allowed) if allowed else "none, the status is final"
        super().__init__(
            f"A lead cannot go from '{current}' to '{requested}'. Allowed: {allowed_text}."
        )


class DuplicateLead(Refusal):
    """A new lead matches existing ones on a normalized phone, email or website."""

    def __init__(self, duplicates: list):
        self.duplicates = duplicates
        super().__init__(
            f"This business matches {len(duplicates)} existing lead(s) on phone, email or"
            " website: merge them, or create it anyway with allow_duplicate."
        )
