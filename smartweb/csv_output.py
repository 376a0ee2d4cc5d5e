"""Every CSV the product writes goes through `writer`: a cell a spreadsheet would run as
a formula (OWASP: one starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is
written with a leading `'`, so `=HYPERLINK(…)`, `@SUM(…)` or `+1+2` stay text. The
lead import reads its own exports back with `unescape`."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> str:
    """The cell's text, which a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def unescape(cell: str) -> str:
    """Undo `neutralize` ("'+44…" -> "+44…")."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_PREFIXES else cell


class writer:  # noqa: N801  (used as csv.writer is)
    """`csv.writer` whose rows are neutralized cell by cell."""

    def __init__(self, out, **kwargs):
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([neutralize(cell) for cell in row])
