"""What the product accepts as a JSON value, wherever it comes from (an API body, a
webhook, an admin form, a job): nested at most `MAX_DEPTH` deep, no NUL character in any
text or key (PostgreSQL can store neither in `text` nor in `jsonb`: a NUL would be a
server error when written), and no number that is not finite (NaN, Infinity: not JSON,
and `jsonb` refuses them, while the API's renderer would write one as `null`). Request
bodies are bounded in size by Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`, checked when the
body is read.

`loads` parses with orjson (whose own depth limit, 1024, is past what Python's recursive
code after it survives: encoding, validation, copies), then `check` walks the value once,
without recursion, so a hostile value cannot exhaust the stack either. orjson refuses the
`NaN`, `Infinity` and `-Infinity` that Python's parser reads, and a number past a float's
range (`1e400`), as it refuses any text that is not JSON, saying only at which character:
a text it refuses is read again by Python's parser, and `check` names the field that
holds such a number.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from django.core.exceptions import ValidationError

# Deep enough for every document the product declares (settings are 3 levels deep).
MAX_DEPTH = 32
NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."
DEPTH_MESSAGE = f"JSON nested deeper than {MAX_DEPTH} levels is not accepted."
NOT_FINITE_MESSAGE = (
    "A number must be finite: NaN, Infinity and numbers out of range are not accepted."
)


def loads(data: bytes | str) -> Any:
    """The JSON value of `data`, checked; ValueError when it is not JSON, `Refused` when
    it holds what `check` refuses."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            raise Refused("", DEPTH_MESSAGE) from exc
        _check_as_python_reads(data)
        raise ValueError(f"The body is not valid JSON: {exc}") from exc
    check(value)
    return value


def _check_as_python_reads(data: bytes | str) -> None:
    """`check` the value Python's parser reads from a text orjson refused: `Refused` at a
    number that is not finite (or, nested past Python's recursion limit, for its depth);
    nothing when the text is no JSON value for it either, or when orjson refused it for
    another reason (a lone surrogate)."""
    try:
        value = json.loads(data)
    except RecursionError as exc:
        raise Refused("", DEPTH_MESSAGE) from exc
    except ValueError:
        return
    check(value)


class Refused(ValidationError):
    """A value `check` refuses: `path` names where (dotted), `reason` says what."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}" if path else reason)


def check(value: Any, field: str | None = None) -> None:
    """Refuse a value nested too deep, holding a NUL character or a number that is not
    finite, naming its place as a dotted path (`company.metadata.note`,
    `permissions.0.resource`) under `field`."""
    stack: list[tuple[Any, tuple, int]] = [(value, (field,) if field else (), 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                _refuse(path, NUL_MESSAGE)
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                _refuse(path, NOT_FINITE_MESSAGE)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_DEPTH:
            _refuse(path, DEPTH_MESSAGE)
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and NUL in key:
                    _refuse(path, "Null characters are not allowed in keys.")
                stack.append((child, (*path, key), depth + 1))
        else:
            stack.extend((child, (*path, i), depth + 1) for i, child in enumerate(item))


def _refuse(path: tuple, message: str):
    raise Refused(".".join(map(str, path)), message)
