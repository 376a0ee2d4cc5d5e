"""Jobs with no request run each organization's work in its time zone
(docs/decisions/0050): the digest goes out from NOTIFICATION_DIGEST_HOUR there, once a
day there; a reminder names the due time as its people read it; a sent proposal expires
once its last valid day is over there."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import pytest
from django.utils import timezone

from crm import services as crm_services
from crm.choices import ProposalStatus
from crm.models import Proposal
from notifications import jobs, reminders
from notifications.choices import NotificationKind
from smartweb.jobs import each_organization
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.crm import factories as crm
from tests.notifications.conftest import told

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def london(db):
    return factories.make_organization("Thames Roofing", time_zone="Europe/London")


def _overdue(organization, person, now):
    crm.task(organization, assigned_to=person, due_at=now - dt.timedelta(hours=1))
    with tenant_context(organization):
        reminders.remind_tasks(now=now)


def test_the_digest_goes_out_from_its_hour_in_the_organizations_zone(
    org_a, rep_a, settings, mailoutbox
):
    settings.NOTIFICATION_DIGEST_HOUR = 7
    tokyo = factories.make_organization("Shibuya Sites", time_zone="Asia/Tokyo")
    tokyo_rep = factories.make_member(tokyo, "sales_rep")
    # The last 00:30 UTC: 09:30 in Tokyo, where the hour has come; not yet in UTC. Taken
    # at or before the real time, so the notifications made now (which carry it) are
    # within a first digest's day of it and of 07:30 UTC.
    real = timezone.now()
    now = real.replace(hour=0, minute=30, second=0, microsecond=0)
    if now > real:
        now -= dt.timedelta(days=1)
    _overdue(tokyo, tokyo_rep, now)
    _overdue(org_a, rep_a, now)
    assert each_organization(functools.partial(jobs.send_digests_due, now=now)) == 1
    assert [mail.to for mail in mailoutbox] == [[tokyo_rep.email]]
    # 07:30 UTC: the hour has come in UTC; in Tokyo it is still the day it was sent.
    later = now + dt.timedelta(hours=7)
    assert each_organization(functools.partial(jobs.send_digests_due, now=later)) == 1
    assert mailoutbox[-1].to == [rep_a.email]


def test_a_reminder_names_the_due_time_in_the_organizations_zone(london):
    london_rep = factories.make_member(london, "sales_rep")
    now = timezone.now()
    due = (now + dt.timedelta(minutes=30)).replace(second=0, microsecond=0)
    crm.task(london, title="Quote the porch", assigned_to=london_rep, due_at=due)
    assert each_organization(lambda organization: reminders.remind_tasks(now=now)) == 1
    (reminder,) = told(london, london_rep)
    local = timezone.localtime(due, zoneinfo.ZoneInfo("Europe/London"))
    assert reminder.kind == NotificationKind.TASK_DUE
    assert reminder.message == f"Due at {local:%H:%M} Europe/London: Quote the porch"


def test_a_sent_proposal_expires_once_its_last_day_is_over_in_the_organizations_zone(
    london, monkeypatch
):
    admin = factories.org_admin(london)
    proposal = crm.proposal(london, crm.opportunity(london, owner=admin))
    with tenant_context(london):
        Proposal.objects.filter(pk=proposal.pk).update(
            status=ProposalStatus.SENT, valid_until=dt.date(2027, 7, 1)
        )
    # 22:30 UTC on 1 July is still its last day in London (23:30): not expired.
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2027, 7, 1, 22, 30, tzinfo=UTC))
    assert each_organization(lambda organization: crm_services.proposals_expire()) == 0
    # 23:30 UTC is 00:30 on 2 July there: expired, though it is still 1 July in UTC.
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2027, 7, 1, 23, 30, tzinfo=UTC))
    assert each_organization(lambda organization: crm_services.proposals_expire()) == 1
    with tenant_context(london):
        assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.EXPIRED
