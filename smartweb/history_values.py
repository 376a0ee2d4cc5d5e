"""The values of a change on a record's History page, as the rest of the admin shows
values: nothing as the admin's empty mark, a moment in the current time zone.

simple-history shows an empty value as "None", and a link that was empty (a member
given their first team) as if it pointed to a deleted row: "Deleted team (pk=None)".
"""

from __future__ import annotations

import datetime as dt

from django.utils import formats, timezone
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper


class HistoryValues(HistoricalRecordContextHelper):
    def __init__(self, *args, empty: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty = empty

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        if value is None or value == "":
            return self.empty
        if isinstance(value, DeletedObject) and value.pk is None:
            return self.empty
        if isinstance(value, dt.datetime):
            return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
        return value
