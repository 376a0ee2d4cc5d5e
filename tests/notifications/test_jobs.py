"""The periodic jobs: task reminders, proposals expiring and expired, the daily digest.
Each runs in one organization's context and, run twice, tells once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm import services as crm_services
from crm.choices import ProposalStatus, TaskStatus
from crm.models import Proposal
from notifications import digest, reminders
from notifications.choices import NotificationKind
from notifications.services import notifications_mark_all_read, settings_update
from smartweb.jobs import each_organization
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.notifications.conftest import kinds, told

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def _remind(organization, now=NOW) -> int:
    with tenant_context(organization):
        return reminders.remind_tasks(now=now)


# --- tasks due and overdue ---------------------------------------------------------------


def test_tasks_coming_due_and_overdue_remind_their_assignee_once(org_a, rep_a, admin_a):
    soon = factories.task(org_a, assigned_to=rep_a, due_at=NOW + dt.timedelta(minutes=30))
    late = factories.task(org_a, assigned_to=rep_a, due_at=NOW - dt.timedelta(hours=2))
    factories.task(org_a, assigned_to=rep_a, due_at=NOW + dt.timedelta(hours=3))  # not yet
    factories.task(org_a, assigned_to=rep_a, due_at=NOW - dt.timedelta(days=3))  # stale
    factories.task(org_a, assigned_to=rep_a, due_at=NOW - dt.timedelta(hours=1), status="done")
    factories.task(org_a, due_at=NOW - dt.timedelta(hours=1), assigned_to=None)

    assert _remind(org_a) == 2
    assert _remind(org_a) == 0  # run again: nobody is told twice
    assert {(n.kind, n.target_id) for n in told(org_a, rep_a)} == {
        (NotificationKind.TASK_DUE, soon.pk),
        (NotificationKind.TASK_OVERDUE, late.pk),
    }
    assert told(org_a, admin_a) == []


def test_a_task_coming_due_is_reminded_again_when_due_and_when_moved(org_a, rep_a):
    task = factories.task(org_a, assigned_to=rep_a, due_at=NOW + dt.timedelta(minutes=30))
    _remind(org_a)
    _remind(org_a, now=NOW + dt.timedelta(hours=1))  # now overdue
    with tenant_context(org_a):
        crm_services.task_update(task=task, acting_user=None, due_at=NOW + dt.timedelta(hours=5))
    _remind(org_a, now=NOW + dt.timedelta(hours=4, minutes=30))
    assert kinds(org_a, rep_a) == [
        NotificationKind.TASK_DUE,
        NotificationKind.TASK_OVERDUE,
        NotificationKind.TASK_DUE,
    ]
    with tenant_context(org_a):
        crm_services.task_update(task=task, acting_user=None, status=TaskStatus.DONE)
    assert _remind(org_a, now=NOW + dt.timedelta(hours=6)) == 0


def test_reminders_stay_in_their_organization(org_a, rep_a, org_b, admin_b):
    factories.task(org_b, assigned_to=admin_b, due_at=NOW - dt.timedelta(minutes=5))
    assert _remind(org_a) == 0
    assert told(org_a) == [] and told(org_b) == []
    assert _remind(org_b) == 1 and kinds(org_b, admin_b) == [NotificationKind.TASK_OVERDUE]


def test_the_job_runs_in_every_active_organization(org_a, rep_a, org_b, admin_b):
    factories.task(org_a, assigned_to=rep_a, due_at=timezone.now() - dt.timedelta(minutes=5))
    factories.task(org_b, assigned_to=admin_b, due_at=timezone.now() - dt.timedelta(minutes=5))
    assert each_organization(lambda organization: reminders.remind_tasks()) == 2
    assert each_organization(lambda organization: reminders.remind_tasks()) == 0
    assert len(told(org_a, rep_a)) == 1 and len(told(org_b, admin_b)) == 1


# --- proposals expiring and expired ----------------------------------------------------


@pytest.fixture
def sent(org_a, opp_a):
    """rep_a's proposal, sent, valid until ten days from today."""
    proposal = factories.proposal(
        org_a, opp_a, valid_until=timezone.localdate() + dt.timedelta(days=10)
    )
    with tenant_context(org_a):
        return crm_services.proposal_send(proposal=proposal, acting_user=None)


def test_a_proposal_about_to_expire_tells_the_deals_owner_once(org_a, rep_a, sent):
    today = sent.valid_until - dt.timedelta(days=reminders.PROPOSAL_EXPIRING_DAYS + 1)
    with tenant_context(org_a):
        assert reminders.remind_expiring_proposals(today=today) == 0
        today += dt.timedelta(days=1)
        assert reminders.remind_expiring_proposals(today=today) == 1
        assert reminders.remind_expiring_proposals(today=today) == 0
        assert reminders.remind_expiring_proposals(today=sent.valid_until) == 0
    (notification,) = told(org_a, rep_a, kind=NotificationKind.PROPOSAL_EXPIRING)
    assert notification.target_id == sent.pk and f"{sent.valid_until:%Y-%m-%d}" in (
        notification.message
    )


def test_a_proposal_past_its_validity_expires_once_recorded_in_its_history(org_a, rep_a, sent):
    with tenant_context(org_a):
        assert crm_services.proposals_expire(today=sent.valid_until) == 0  # its last day
        after = sent.valid_until + dt.timedelta(days=1)
        assert crm_services.proposals_expire(today=after) == 1
        assert crm_services.proposals_expire(today=after) == 0
        proposal = Proposal.objects.get(pk=sent.pk)
        last = proposal.history.order_by("-history_date", "-history_id").first()
    assert proposal.status == ProposalStatus.EXPIRED
    assert last.status == ProposalStatus.EXPIRED and last.history_type == "~"
    assert last.history_change_reason.startswith(f"Valid until {sent.valid_until:%Y-%m-%d}")
    assert kinds(org_a, rep_a, kind=NotificationKind.PROPOSAL_EXPIRED) == [
        NotificationKind.PROPOSAL_EXPIRED
    ]


def test_expiry_leaves_drafts_answered_proposals_and_other_organizations(
    org_a, opp_a, sent, org_b, admin_b
):
    past = sent.valid_until + dt.timedelta(days=1)
    draft = factories.proposal(org_a, opp_a, valid_until=sent.valid_until)
    other_deal = factories.opportunity(org_b, owner=admin_b)
    theirs = factories.proposal(org_b, other_deal, valid_until=sent.valid_until)
    with tenant_context(org_b):
        crm_services.proposal_send(proposal=theirs, acting_user=None)
    with tenant_context(org_a):
        crm_services.proposal_reject(proposal=sent, acting_user=None, reason="Too dear")
        assert crm_services.proposals_expire(today=past) == 0
        assert Proposal.objects.get(pk=draft.pk).status == ProposalStatus.DRAFT
        assert Proposal.objects.get(pk=sent.pk).status == ProposalStatus.REJECTED
    with tenant_context(org_b):
        assert Proposal.objects.get(pk=theirs.pk).status == ProposalStatus.SENT


# --- the daily digest ------------------------------------------------------------------


def _digests(organization, now=NOW) -> int:
    with tenant_context(organization):
        return digest.send_digests(organization=organization, now=now)


def _overdue(organization, user, hours=2):
    factories.task(organization, assigned_to=user, due_at=NOW - dt.timedelta(hours=hours))


def test_the_digest_goes_once_a_day_to_members_with_unread_notifications(
    org_a, rep_a, admin_a, mailoutbox
):
    _overdue(org_a, rep_a)
    _overdue(org_a, rep_a, hours=3)
    _remind(org_a)
    first = timezone.now()
    assert _digests(org_a, now=first) == 1
    assert _digests(org_a, now=first) == 0  # the same day: not again
    (mail,) = mailoutbox
    assert mail.to == [rep_a.email] and mail.subject.startswith("2 unread notifications")
    assert mail.body.count("Overdue: ") == 2 and org_a.name in mail.body

    tomorrow = first + dt.timedelta(days=1)
    assert _digests(org_a, now=tomorrow) == 0  # nothing new since
    _overdue(org_a, rep_a, hours=1)
    _remind(org_a)
    assert _digests(org_a, now=tomorrow) == 1
    assert mailoutbox[-1].subject.startswith("1 unread notification ")


def test_the_digest_links_the_page_when_the_site_address_is_known(
    org_a, rep_a, settings, mailoutbox
):
    _overdue(org_a, rep_a)
    _remind(org_a)
    settings.SITE_URL = ""
    assert _digests(org_a) == 1
    assert "Notifications (/admin/notifications/)" in mailoutbox[-1].body
    settings.SITE_URL = "https://crm.example.com"
    _overdue(org_a, rep_a, hours=1)
    _remind(org_a)
    assert _digests(org_a, now=NOW + dt.timedelta(days=1)) == 1
    assert "https://crm.example.com/admin/notifications/" in mailoutbox[-1].body


def test_no_digest_for_who_turned_it_off_or_read_everything(org_a, rep_a, manager_a, mailoutbox):
    _overdue(org_a, rep_a)
    _overdue(org_a, manager_a)
    _remind(org_a)
    with tenant_context(org_a):
        settings_update(user=rep_a, digest_enabled=False)
        notifications_mark_all_read(user=manager_a)
    assert _digests(org_a) == 0 and mailoutbox == []
    with tenant_context(org_a):
        settings_update(user=rep_a, digest_enabled=True)
    assert _digests(org_a) == 1 and mailoutbox[0].to == [rep_a.email]


def test_the_digest_hour(settings):
    settings.NOTIFICATION_DIGEST_HOUR = 7
    morning = timezone.now().replace(hour=6, minute=59)
    assert not digest.due(morning)
    assert digest.due(morning.replace(hour=7, minute=0))
