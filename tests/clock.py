"""A pinned clock for the tests about "today", "overdue" or "this month".

Such a test builds its rows relative to the time (a task due later today, a deal closing
this month) and the code reads the time again when it answers. Run near midnight (or a
month's end), the two readings fall on different days and the test fails for nothing.
`midday` pins `django.utils.timezone.now`, which every reader of the time here goes
through (`timezone.localdate` and `localtime` too), so the test and the code see one
moment: noon of today in the project's time zone, far from either edge of the day
(`module_midday` pins it for a module whose shared rows are dated relative to today).
Rows' `created_at` keep the real time (their default is the unpinned function); no test
using the clock compares them with it. Only this process is pinned: a live server keeps
its own clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone


def _pin_at_midday(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    pinned = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: pinned)
    return pinned


@pytest.fixture
def midday(monkeypatch) -> dt.datetime:
    """`timezone.now()` pinned at noon of the current day for the test; the moment."""
    return _pin_at_midday(monkeypatch)


@pytest.fixture(scope="module")
def module_midday() -> Iterator[dt.datetime]:
    """The same for a whole module, whose module-scoped rows are built relative to today
    and read by every test of the module, however long it runs; the moment."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _pin_at_midday(monkeypatch)
