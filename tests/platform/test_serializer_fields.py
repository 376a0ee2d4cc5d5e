"""The project's date time and decimal output fields give exactly DRF's text."""

import datetime as dt
import random
import zoneinfo
from decimal import Decimal

import pytest
from rest_framework import serializers

from crm.models import Opportunity
from smartweb.api.serializers import ModelSerializer, StoredDecimalField, UTCDateTimeField

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 12, 1, 18, 5, 49, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=BERLIN),
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=zoneinfo.ZoneInfo("UTC")),
        None,
    ],
)
def test_date_times_read_out_as_drf_does(value):
    assert UTCDateTimeField().to_representation(value) == (
        serializers.DateTimeField().to_representation(value)
    )


def test_every_kind_of_date_time_reads_out_as_drf_does():
    """Years from 1 to 9999, with and without microseconds, in UTC and in zones east and
    west of it, across a daylight saving change."""
    rng = random.Random(21)
    zones = [
        dt.UTC,
        zoneinfo.ZoneInfo("UTC"),
        BERLIN,
        dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
    ]
    for _ in range(20000):
        value = dt.datetime(
            rng.randint(2, 9998),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            rng.choice([0, rng.randint(0, 999_999)]),
            tzinfo=rng.choice(zones),
        )
        ours = UTCDateTimeField().to_representation(value)
        assert ours == serializers.DateTimeField().to_representation(value), value


def test_date_times_with_their_own_format_or_zone_are_drfs():
    value = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    assert UTCDateTimeField(format="%d.%m.%Y %H:%M").to_representation(value) == "01.06.2026 12:00"
    in_berlin = UTCDateTimeField(default_timezone=BERLIN).to_representation(value)
    assert in_berlin == "2026-06-01T14:00:00+02:00"


@pytest.mark.parametrize(
    "value",
    ["1234.50", "0.00", "-0.00", "-3.25", "999999999999.99", "1.239", "1.5", "1E+2", "5E-2", "7"],
)
def test_decimals_read_out_as_drf_does(value):
    ours = StoredDecimalField(max_digits=14, decimal_places=2)
    drf = serializers.DecimalField(max_digits=14, decimal_places=2)
    assert ours.to_representation(Decimal(value)) == drf.to_representation(Decimal(value))
    assert ours.to_representation(value) == drf.to_representation(value)


def test_model_fields_map_to_them():
    class OpportunitySerializer(ModelSerializer):
        class Meta:
            model = Opportunity
            fields = ["created_at", "value"]

    fields = OpportunitySerializer().fields
    assert isinstance(fields["created_at"], UTCDateTimeField)
    assert isinstance(fields["value"], StoredDecimalField)
