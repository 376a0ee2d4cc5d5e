"""The rollups the dashboards read equal, after any sequence of writes, what recomputing
them from the facts gives (crm.rollups): every path that writes the facts keeps them."""

from __future__ import annotations

import datetime as dt
import io
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from compliance import services as compliance
from crm import dashboard, rollups, selectors, services
from crm.models import Campaign, Opportunity, Pipeline, PipelineStage
from leads import csv_io
from leads import services as lead_services
from leads.models import Lead
from smartweb.errors import Refusal
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.leads.factories import acting_as

pytestmark = pytest.mark.django_db

STEPS = 80
CURRENCIES = ("EUR", "GBP", "USD")


class World:
    """Two organizations, each with its people, written to by random steps."""

    def __init__(self, rng: random.Random, orgs: dict):
        self.rng, self.orgs = rng, orgs

    def pick(self, queryset):
        rows = list(queryset)
        return self.rng.choice(rows) if rows else None

    def create(self, org, people):
        factories.opportunity(
            org,
            owner=self.rng.choice(people),
            value=Decimal(self.rng.randrange(0, 500_000)) / 100,
            currency=self.rng.choice(CURRENCIES),
            expected_close_date=self.rng.choice([None, self.day()]),
        )

    def day(self) -> dt.date:
        return dt.date(2026, 1, 1) + dt.timedelta(days=self.rng.randrange(0, 500))

    def move(self, org, people):
        opportunity = self.pick(Opportunity.objects.all())
        if opportunity is not None:
            stage = self.pick(PipelineStage.objects.filter(pipeline_id=opportunity.pipeline_id))
            services.opportunity_move_stage(
                opportunity=opportunity,
                stage=stage,
                acting_user=None,
                lost_reason="Too dear",
                reopen=True,
            )

    def update(self, org, people):
        opportunity = self.pick(Opportunity.objects.all())
        if opportunity is not None:
            changes = self.rng.choice(
                [
                    {"value": Decimal(self.rng.randrange(0, 900_000)) / 100},
                    {"currency": self.rng.choice(CURRENCIES)},
                    {"owner": self.rng.choice([*people, None])},
                    {"expected_close_date": self.day()},
                ]
            )
            services.opportunity_update(opportunity=opportunity, acting_user=None, **changes)

    def import_leads(self, org, people):
        n = self.rng.randrange(1000, 9999)
        text = (
            "company_name,business_type,email,status,assigned_to\n"
            f"Imported {n},plumber,a{n}@imported.test,new,{people[0].email}\n"
            f"Imported {n + 1},roofer,,contacted,\n"
        )
        csv_io.import_leads(source=io.BytesIO(text.encode()), acting_user=self.admin(org))

    def call(self, org, people):
        lead = self.pick(Lead.objects.all())
        if lead is not None:
            campaign = self.rng.choice([self.pick(Campaign.objects.all()), None])
            factories.ai_call(org, for_lead=lead, in_campaign=campaign)

    def merge(self, org, people):
        # Two leads of which at most one has an open deal (a lead has one at most).
        dealing = Opportunity.objects.open().values("lead_id")
        leads = [self.pick(Lead.objects.all()), self.pick(Lead.objects.exclude(pk__in=dealing))]
        if None not in leads and leads[0] != leads[1]:
            lead_services.leads_merge(
                primary=leads[0], duplicates=[leads[1]], acting_user=self.admin(org)
            )

    def erase(self, org, people):
        lead = self.pick(Lead.objects.all())
        if lead is not None:
            compliance.erase_subject(lead=lead, acting_user=self.admin(org))

    def soft_delete(self, org, people):
        row = self.pick(self.rng.choice([Opportunity.objects.all(), Lead.objects.all()]))
        if row is not None:
            row.delete()

    def restore(self, org, people):
        model = self.rng.choice([Opportunity, Lead])
        row = self.pick(model.all_objects.filter(deleted_at__isnull=False))
        if row is not None:
            row.restore()

    def admin(self, org):
        return self.orgs[org][0]


STEP_NAMES = (
    "create",
    "move",
    "update",
    "import_leads",
    "call",
    "merge",
    "erase",
    "soft_delete",
)


def _dashboards(org, user, rng: random.Random) -> list:
    """What the dashboard, the forecast and the board show the user, over a few periods
    cut anywhere (whole months and parts of months)."""
    shown = []
    with acting_as(org, user):
        pipeline = Pipeline.objects.get(is_default=True)
        shown.append(selectors.forecast(user=user, months=12, today=dt.date(2026, 3, 9)))
        shown.append(selectors.board_money(pipeline=pipeline, user=user))
        for campaign in Campaign.objects.order_by("pk"):
            shown.append(selectors.campaign_call_outcomes(user=user, campaign=campaign))
        for _ in range(6):
            start = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 400))
            end = start + dt.timedelta(days=rng.randrange(0, 300))
            period = dashboard.Period(start=start, end=end, owner_id=rng.choice([None, user.pk]))
            filters = selectors.BoardFilters(closes_from=start, closes_until=end)
            shown.append(selectors.board_money(pipeline=pipeline, user=user, filters=filters))
            shown.append(dashboard.totals(user=user, period=period))
            shown.append(dashboard.by_month(user=user, period=period))
            shown.append(dashboard.funnel(user=user, pipeline=pipeline, period=period))
            shown.append(dashboard.lead_sources(user=user, period=period))
            shown.append(dashboard.call_outcomes(user=user, period=period))
    return shown


def test_random_writes_leave_the_rollups_equal_to_their_recomputation(
    org_a, admin_a, rep_a, org_b, admin_b, monkeypatch
):
    orgs = {org_a: [admin_a, rep_a], org_b: [admin_b]}
    world = World(random.Random(20261203), orgs)
    for org, people in orgs.items():
        for _ in range(4):
            world.create(org, people)
    done = []
    for _ in range(STEPS):
        org = world.rng.choice(list(orgs))
        step = world.rng.choice((*STEP_NAMES, "create", "move", "update", "restore"))
        try:
            with acting_as(org, world.admin(org)), transaction.atomic():
                getattr(world, step)(org, orgs[org])
            done.append(step)
        except (Refusal, ValidationError):
            continue  # refused as a user would be: nothing written
    assert set(done) >= {*STEP_NAMES, "restore"}
    for org in orgs:
        with tenant_context(org):
            for rollup in rollups.ROLLUPS:
                assert rollups.differences(rollup, org.pk) == [], rollup.table
            assert rollups.rebuild(rollups.OPPORTUNITIES, org.pk) == 0
    # What the rollups show is what the facts show (read when the rollups cannot say).
    for org, people in orgs.items():
        for user in people:
            from_rollups = _dashboards(org, user, random.Random(7))
            with monkeypatch.context() as reading_facts:
                reading_facts.setattr(selectors, "visible_rollups", lambda *a, **k: None)
                reading_facts.setattr(dashboard, "visible_rollups", lambda *a, **k: None)
                assert _dashboards(org, user, random.Random(7)) == from_rollups
