"""The bounds the database's check constraints hold the sales records to (crm.models),
stated once for the forms and serializers that check them at their fields, in words,
before a constraint would refuse them by its name."""

from __future__ import annotations

from decimal import Decimal

NOT_NEGATIVE = {"min_value": Decimal("0")}
PERCENT = {"min_value": Decimal("0"), "max_value": Decimal("100")}

# A campaign's limits: at least one call (none: no limit), one to ten attempts per lead.
CAMPAIGN = {
    "daily_call_limit": {"min_value": 1},
    "total_call_limit": {"min_value": 1},
    "max_attempts_per_lead": {"min_value": 1, "max_value": 10},
}

CAMPAIGN_SCHEDULE_FIELDS = ("calling_hours_start", "calling_hours_end", "starts_at", "ends_at")


def campaign_schedule_problems(
    *, calling_hours_start, calling_hours_end, starts_at, ends_at
) -> dict[str, str]:
    """What is wrong with a campaign's hours and dates, by field (constraints
    `crm_campaign_hours_ordered` and `crm_campaign_window_ordered`); empty when nothing."""
    problems = {}
    if calling_hours_start and calling_hours_end and calling_hours_end <= calling_hours_start:
        problems["calling_hours_end"] = "Calling hours end after they start."
    if starts_at and ends_at and ends_at <= starts_at:
        problems["ends_at"] = "The campaign ends after it starts."
    return problems
