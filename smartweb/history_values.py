"""The values of a change on a record's History page, as the rest of the admin shows
values: nothing as the admin's empty mark, a moment in the current time zone, a choice
by its label ("In progress", not `in_progress`); and who made it, a change made by no one
signed in named by what made it (a job, a command, or the system).

simple-history shows an empty value as "None", and a link that was empty (a member
given their first team) as if it pointed to a deleted row: "Deleted team (pk=None)".
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.utils import formats, timezone
from django.utils.translation import gettext
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper


class HistoryValues(HistoricalRecordContextHelper):
    """`unread(field, value)`: would showing `value` of `field` name a row the viewer may
    not read? Such a change is left out (`smartweb.admin_readers`)."""

    def __init__(self, *args, empty: str, unread=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty = empty
        self.unread = unread

    def context_for_delta_changes(self, delta):
        if self.unread is not None:
            changes = [
                change
                for change in delta.changes
                if not (
                    self.unread(change.field, change.old) or self.unread(change.field, change.new)
                )
            ]
            delta = dataclasses.replace(delta, changes=changes)
        return super().context_for_delta_changes(delta)

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        if value is None or value == "":
            return self.empty
        if isinstance(value, DeletedObject) and value.pk is None:
            return self.empty
        if isinstance(value, dt.datetime):
            return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
        field = self.model._meta.get_field(change.field)
        if field.choices and isinstance(value, str | int):
            return dict(field.flatchoices).get(value, value)
        return value


def made_by(record) -> str:
    """Who made a history row's change: its user by name, else what made it, read from
    where it came from (`smartweb.origin`: `job:<task>:<id>`, `command:<name>:<id>`)."""
    if record.history_user_id is not None and record.history_user is not None:
        return record.history_user.get_full_name()
    kind, _, rest = (getattr(record, "history_request_id", "") or "").partition(":")
    name = rest.rpartition(":")[0]
    if kind == "job" and name:
        return gettext("Job: %(name)s") % {"name": name.rpartition(".")[2].replace("_", " ")}
    if kind == "command" and name:
        return gettext("Command: %(name)s") % {"name": name}
    return gettext("System")
