"""The dashboard's months are the rollups' (UTC days, docs/decisions/0050), whether it
reads the rollups or, when a rollup cannot answer, the facts: one figure either way, in
an organization whose zone is not UTC."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from crm import dashboard, selectors
from crm.choices import OpportunityStatus
from crm.models import Opportunity
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.crm import factories as crm
from tests.crm.conftest import LONDON
from tests.factories import acting_as

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def test_the_dashboard_gives_one_figure_whether_it_reads_rollups_or_facts(london, monkeypatch):
    """The rollups count a day in UTC (docs/decisions/0050); read from the facts (when a
    rollup cannot answer), a month is the same one, even in the organization's zone."""
    admin = factories.org_admin(london)
    deal = crm.opportunity(london, owner=admin, currency="GBP")
    with tenant_context(london):
        # 00:30 on 1 July in London: the last hour of June in UTC.
        Opportunity.objects.filter(pk=deal.pk).update(
            status=OpportunityStatus.WON, closed_at=dt.datetime(2027, 6, 30, 23, 30, tzinfo=UTC)
        )
    period = dashboard.Period(start=dt.date(2027, 6, 1), end=dt.date(2027, 7, 31))

    def won_by_month():
        with acting_as(admin, london), timezone.override(zoneinfo.ZoneInfo(LONDON)):
            months = dashboard.by_month(user=admin, period=period)["GBP"]
            return {row["month"]: row["won_value"] for row in months}

    from_rollups = won_by_month()
    assert from_rollups[dt.date(2027, 6, 1)] == deal.value
    monkeypatch.setattr(selectors, "visible_rollups", lambda *a, **k: None)
    monkeypatch.setattr(dashboard, "visible_rollups", lambda *a, **k: None)
    assert won_by_month() == from_rollups
