"""A pinned clock for the tests about "today", "overdue" or "this month".

Such a test builds its rows relative to the time (a task due later today, a deal closing
this month) and the code reads the time again when it answers. Run near midnight (or a
month's end), the two readings fall on different days and the test fails for nothing.
`midday` pins `django.utils.timezone.now`, which every reader of the time here goes
through (`timezone.localdate` and `localtime` too), so the test and the code see one
moment: noon of today in the project's time zone, far from either edge of the day.
Rows' `created_at` keep the real time (their default is the unpinned function); no test
using the clock compares them with it. Only this process is pinned: a live server keeps
its own clock.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone


@pytest.fixture
def midday(monkeypatch) -> dt.datetime:
    """`timezone.now()` pinned at noon of the current day for the test; the moment."""
    pinned = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: pinned)
    return pinned
