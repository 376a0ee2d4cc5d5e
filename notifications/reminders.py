"""The periodic reminders, run in one organization's context by `notifications.jobs`:
tasks coming due and overdue, proposals about to expire. Each reminder's key names the
record and the date it is about, so a run repeated (or two at once) reminds once, and a
task given a new due time is reminded of again."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from crm.choices import TASK_OPEN_STATUSES, ProposalStatus
from crm.models import Proposal, Task
from notifications.choices import NotificationKind
from notifications.services import notify
from smartweb import time_zones

# A task due within this is "due soon".
TASK_DUE_SOON = dt.timedelta(hours=1)
# A task overdue for longer than this when first seen (the worker was stopped) is left to
# the lists and the digest: a burst of stale reminders tells nobody anything.
OVERDUE_HORIZON = dt.timedelta(hours=24)
# A sent proposal this many days from its last valid day is "expiring".
PROPOSAL_EXPIRING_DAYS = 3


def _task_reminder(task: Task, kind: str, message: str) -> bool:
    return (
        notify(
            recipient=task.assigned_to,
            kind=kind,
            target=task,
            message=message,
            dedupe_key=f"{kind}:{task.pk}:{task.due_at.isoformat()}",
        )
        is not None
    )


def _open_tasks(**due):
    return (
        Task.objects.filter(status__in=TASK_OPEN_STATUSES, assigned_to__isnull=False, **due)
        .select_related("assigned_to")
        .order_by("due_at")
    )


@transaction.atomic
def remind_tasks(*, now: dt.datetime | None = None) -> int:
    """Tell each assignee of the tasks coming due within the hour, and of those overdue;
    how many were told."""
    now = now or timezone.now()
    told = 0
    for task in _open_tasks(due_at__gt=now, due_at__lte=now + TASK_DUE_SOON):
        # In the assignee's time zone: theirs, or else the organization's, which the job
        # runs in (smartweb.jobs).
        with time_zones.read_by(task.assigned_to):
            due = f"{timezone.localtime(task.due_at):%H:%M} {timezone.get_current_timezone_name()}"
        told += _task_reminder(task, NotificationKind.TASK_DUE, f"Due at {due}: {task.title}")
    for task in _open_tasks(due_at__lte=now, due_at__gt=now - OVERDUE_HORIZON):
        told += _task_reminder(task, NotificationKind.TASK_OVERDUE, f"Overdue: {task.title}")
    return told


@transaction.atomic
def remind_expiring_proposals(*, today: dt.date | None = None) -> int:
    """Tell each deal's owner of its sent proposals whose validity ends within the next
    few days (once per proposal and validity date); how many were told."""
    today = today or timezone.localdate()
    expiring = Proposal.objects.filter(
        status__in=[ProposalStatus.SENT, ProposalStatus.VIEWED],
        valid_until__gte=today,
        valid_until__lte=today + dt.timedelta(days=PROPOSAL_EXPIRING_DAYS),
    ).select_related("opportunity__owner")
    told = 0
    for proposal in expiring:
        told += (
            notify(
                recipient=proposal.opportunity.owner,
                kind=NotificationKind.PROPOSAL_EXPIRING,
                target=proposal,
                message=f"Proposal {proposal.number} ({proposal.title}) is valid until"
                f" {proposal.valid_until:%Y-%m-%d}",
                dedupe_key=f"proposal_expiring:{proposal.pk}:{proposal.valid_until}",
            )
            is not None
        )
    return told
