"""Every CSV the product writes goes through `writer`: a cell a spreadsheet would run as
a formula (OWASP: one starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is
written with a leading `'`, so `=HYPERLINK(…)`, `@SUM(…)` or `+1+2` stay text.

The files are comma-separated. A spreadsheet whose list separator is `;` (Excel in a
German or French locale, among others) reads them split at every `;` and every line
break, inside cells too: a quote counts only at the start of a cell it sees, which the
file's quoting for commas does not give it there. So the text after a `;` or a line
break inside a cell is guarded as a cell is (`x;=1+1` is written `x;'=1+1`), and so is
such a text that opens with quotes, which that reader drops (`x;"=1`).
The lead import reads its own exports back with `unescape`."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A `;` or a line break inside a cell, then a formula's first character (after any
# quotes): the `'` goes right after the `;` or the line break.
_INNER_FORMULA = re.compile(r"""(?<=[;\r\n])(?="*[=+\-@\t\r])""")
_INNER_GUARD = re.compile(r"""(?<=[;\r\n])'(?="*[=+\-@\t\r])""")


def neutralize(value: Any) -> str:
    """The cell's text, which a spreadsheet will not run as a formula, whether it splits
    the file at commas or at semicolons."""
    text = "" if value is None else str(value)
    if ";" in text or "\n" in text or "\r" in text:
        text = _INNER_FORMULA.sub("'", text)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def unescape(cell: str) -> str:
    """Undo `neutralize` ("'+44…" -> "+44…", "x;'=1" -> "x;=1")."""
    if "'" not in cell:
        return cell
    cell = _INNER_GUARD.sub("", cell)
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_PREFIXES else cell


class writer:  # noqa: N801  (used as csv.writer is)
    """`csv.writer` whose rows are neutralized cell by cell."""

    def __init__(self, out, **kwargs):
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([neutralize(cell) for cell in row])
