"""Query parameters read the way the schema declares them: a value that is not what the
schema says is a 400 naming the parameter, never silently replaced by a default."""

from __future__ import annotations

import re
from dataclasses import dataclass

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

DIGITS = re.compile(r"[0-9]+")


def whole_number(raw: str, name: str, low: int, high: int | None = None) -> int:
    """`raw` as an integer from `low` (to `high`), or a 400 about `name`."""
    value = int(raw) if DIGITS.fullmatch(raw) else None
    if value is None or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"from {low} on"
        raise ValidationError({name: [f"A whole number {bounds}."]})
    return value


@dataclass(frozen=True)
class BoundedInt:
    """A whole-number query parameter with bounds and a default: its schema and its
    reading come from the same figures."""

    name: str
    default: int
    low: int
    high: int

    @property
    def parameter(self) -> OpenApiParameter:
        return OpenApiParameter(
            self.name,
            {"type": "integer", "minimum": self.low, "maximum": self.high},
            description=f"{self.low}–{self.high} (default {self.default})",
        )

    def read(self, request) -> int:
        raw = request.query_params.get(self.name)
        if raw is None:
            return self.default
        return whole_number(raw, self.name, self.low, self.high)
