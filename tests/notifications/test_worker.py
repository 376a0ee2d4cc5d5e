"""The periodic jobs as the worker runs them, on committed data: registered on their
schedules, each run in every organization's context, twice without telling twice; and
the retention purge run by the worker instead of an outside cron."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time

from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.exceptions import AlreadyEnqueued

from crm import jobs as crm_jobs
from crm import services as crm_services
from crm.models import Proposal
from notifications import jobs
from notifications.choices import NotificationKind
from smartweb import jobs as platform_jobs
from smartweb.tenancy.context import tenant_context
from tests import factories as people
from tests.crm import factories
from tests.crm.conftest import committed, live_org  # noqa: F401 (fixtures)
from tests.job_queue import run_worker
from tests.notifications.conftest import told


def last_job_id() -> int:
    """Jobs of earlier tests may still be in the queue's table (those of the live
    server's worker): a test reads the jobs after this one."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
        return cursor.fetchone()[0]


def statuses(task_name: str, after: int = 0) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = %s AND id > %s ORDER BY id",
            [task_name, after],
        )
        return [row[0] for row in cursor.fetchall()]


def database_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def runs_started_since(task_name: str, since) -> list[str]:
    """The statuses of the task's jobs a worker started from `since` on, whenever they
    were queued: a run of the schedule queued before then still runs on what is there."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT job.status FROM procrastinate_jobs job WHERE job.task_name = %s"
            " AND EXISTS (SELECT FROM procrastinate_events event WHERE event.job_id = job.id"
            " AND event.type = 'started' AND event.at >= %s) ORDER BY job.id",
            [task_name, since],
        )
        return [row[0] for row in cursor.fetchall()]


def test_the_jobs_are_scheduled():
    schedules = {
        task.name: periodic.cron
        for (name, _), periodic in app.periodic_registry.periodic_tasks.items()
        for task in [periodic.task]
    }
    assert schedules["notifications.remind"] == "*/5 * * * *"
    assert schedules["notifications.send_digests"] == "5 * * * *"
    assert schedules["crm.expire_proposals"] == "7 * * * *"
    assert schedules["crm.sweep"] == "* * * * *"
    assert schedules["notifications.purge_read"] == "50 3 * * *"
    assert schedules["smartweb.command.purge_expired"] == "43 2 * * *"
    assert schedules["smartweb.command.sweep_attachment_files"] == "29 3 * * *"
    assert schedules["smartweb.command.purge_job_queue"] == "3 4 * * *"
    assert set(platform_jobs.scheduled_command_jobs) == {
        entry.name for entry in platform_jobs.SCHEDULED_COMMANDS
    }


def failures(caplog) -> list[str]:
    """What the worker logged of failed jobs, to say why in an assertion's message."""
    return [
        logging.Formatter().format(record)
        for record in caplog.records
        if record.name.startswith("procrastinate") and record.levelno >= logging.ERROR
    ]


def test_reminders_and_expiry_run_twice_tell_once(live_org, settings, mailoutbox, caplog):  # noqa: F811
    organization, admin, rep = live_org
    other = people.make_organization("Other Web Sales")
    other_admin = people.org_admin(other)
    due = timezone.now() - dt.timedelta(minutes=10)
    factories.task(organization, assigned_to=rep, due_at=due, title="Call the roofer")
    factories.task(other, assigned_to=other_admin, due_at=due, title="Their task")
    deal = factories.opportunity(organization, owner=rep)
    # Valid until tomorrow: still valid when sent, whenever the test runs.
    valid_until = timezone.localdate() + dt.timedelta(days=1)
    proposal = factories.proposal(organization, deal, valid_until=valid_until)
    with tenant_context(organization):
        crm_services.proposal_send(proposal=proposal, acting_user=None)
        # Its last day has passed since.
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        Proposal.objects.filter(pk=proposal.pk).update(valid_until=yesterday)
    settings.NOTIFICATION_DIGEST_HOUR = 0

    since = database_now()
    for _ in range(2):
        stamp = int(time.time())
        for job in (jobs.remind, crm_jobs.expire_proposals, jobs.send_digests):
            # A run of the schedule queued already, by this test's worker or an earlier
            # one's, holds the task's queueing lock and refuses another: that one runs in
            # this pass instead, and is counted as a run since it starts after `since`.
            with contextlib.suppress(AlreadyEnqueued):
                job.defer(timestamp=stamp)
        run_worker("notifications", "crm")
    # Twice at least: the worker's own clock may have deferred a run of its schedule too.
    for task_name in ("notifications.remind", "crm.expire_proposals", "notifications.send_digests"):
        ran = runs_started_since(task_name, since)
        assert len(ran) >= 2 and set(ran) == {"succeeded"}, (task_name, ran, failures(caplog))

    kinds = sorted(n.kind for n in told(organization, rep))
    assert kinds == sorted(
        [
            NotificationKind.LEAD_ASSIGNED,
            NotificationKind.TASK_OVERDUE,
            NotificationKind.PROPOSAL_EXPIRED,
        ]
    )
    assert [n.kind for n in told(other, other_admin)] == [NotificationKind.TASK_OVERDUE]
    # One digest per member and day, each with its own organization's news only.
    assert sorted(m.to[0] for m in mailoutbox) == sorted([rep.email, other_admin.email])
    (theirs,) = [m for m in mailoutbox if m.to == [other_admin.email]]
    assert "Their task" in theirs.body and "Call the roofer" not in theirs.body


def test_the_retention_purge_runs_as_a_job(live_org):  # noqa: F811
    organization, admin, _ = live_org
    lead = factories.lead(organization)
    with tenant_context(organization):
        lead.delete()
        type(lead).all_objects.filter(pk=lead.pk).update(
            deleted_at=timezone.now() - dt.timedelta(days=400)
        )
    before = last_job_id()
    platform_jobs.scheduled_command_jobs["purge_expired"].defer(timestamp=int(time.time()))
    run_worker("maintenance")
    assert statuses("smartweb.command.purge_expired", after=before) == ["succeeded"]
    with tenant_context(organization):
        assert not type(lead).all_objects.filter(pk=lead.pk).exists()
