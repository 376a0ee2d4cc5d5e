"""The admin's date-time input, in the organization's time zone (smartweb.time_zones):
it names the zone its time is read in, so that nobody has to guess, and reads a time the
clocks pass twice as the first of the two."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class LocalSplitDateTime(AdminSplitDateTime):
    template_name = "smartweb/widgets/split_datetime_local.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["time_zone_name"] = timezone.get_current_timezone_name()
        return context


class LocalSplitDateTimeField(forms.SplitDateTimeField):
    """Django's, but 01:30 on the night the clocks go back (London: the last Sunday of
    October) is the first 01:30, as a calendar reads it, not an error: a page showing
    either of the two could not otherwise be saved, even unchanged. A time the clocks
    skip (01:30 when they go forward) is refused, saying so."""

    def compress(self, data_list):
        if data_list and all(data_list):
            zone = timezone.get_current_timezone()
            naive = dt.datetime.combine(*data_list).replace(fold=0)
            if not _exists(naive, zone):
                raise ValidationError(
                    "%(time)s does not exist in %(zone)s: the clocks go forward past it.",
                    code="skipped_time",
                    params={"time": f"{naive:%Y-%m-%d %H:%M}", "zone": zone},
                )
            if zone.utcoffset(naive) != zone.utcoffset(naive.replace(fold=1)):
                return naive.replace(tzinfo=zone)  # passed twice: the first
        return super().compress(data_list)


def _exists(naive: dt.datetime, zone: dt.tzinfo) -> bool:
    """The clocks of `zone` show this time at least once."""
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == naive


class LocalDateTimeMixin:
    """For a model admin or an inline: its date-time inputs are the ones above."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.DateTimeField):
            kwargs.setdefault("form_class", LocalSplitDateTimeField)
            kwargs.setdefault("widget", LocalSplitDateTime)
        return super().formfield_for_dbfield(db_field, request, **kwargs)
