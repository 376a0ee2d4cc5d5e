"""Read notifications are deleted NOTIFICATION_READ_DAYS after they were made; unread ones
stay until read, and each organization's purge touches its own rows only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from notifications import reminders, retention
from notifications.models import Notification
from notifications.services import notifications_mark_all_read
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.notifications.conftest import told

pytestmark = pytest.mark.django_db


def overdue_reminder(organization, user) -> None:
    """One overdue-task notification for `user`."""
    factories.task(organization, assigned_to=user, due_at=timezone.now() - dt.timedelta(hours=2))
    with tenant_context(organization):
        reminders.remind_tasks()


def age(organization, days: int) -> None:
    with tenant_context(organization):
        Notification.objects.update(created_at=timezone.now() - dt.timedelta(days=days))


def test_read_notifications_go_after_the_kept_period_unread_ones_stay(
    org_a, rep_a, manager_a, settings
):
    settings.NOTIFICATION_READ_DAYS = 90
    overdue_reminder(org_a, rep_a)
    overdue_reminder(org_a, manager_a)
    with tenant_context(org_a):
        notifications_mark_all_read(user=rep_a)

    age(org_a, 89)
    with tenant_context(org_a):
        assert retention.purge_read() == 0  # inside the kept period
    age(org_a, 91)
    with tenant_context(org_a):
        assert retention.purge_read() == 1
    assert told(org_a, rep_a) == []
    assert len(told(org_a, manager_a)) == 1  # unread, kept however old


def test_the_purge_keeps_to_its_organization(org_a, rep_a, org_b, admin_b, settings):
    overdue_reminder(org_a, rep_a)
    overdue_reminder(org_b, admin_b)
    for organization, user in ((org_a, rep_a), (org_b, admin_b)):
        with tenant_context(organization):
            notifications_mark_all_read(user=user)
        age(organization, settings.NOTIFICATION_READ_DAYS + 1)
    with tenant_context(org_a):
        assert retention.purge_read() == 1
    assert len(told(org_b, admin_b)) == 1


def test_a_backlog_is_deleted_a_batch_per_transaction(org_a, rep_a, settings, monkeypatch):
    for _ in range(5):
        overdue_reminder(org_a, rep_a)
    with tenant_context(org_a):
        notifications_mark_all_read(user=rep_a)
    age(org_a, settings.NOTIFICATION_READ_DAYS + 1)
    monkeypatch.setattr("smartweb.batch_delete.BATCH", 2)
    with tenant_context(org_a):
        assert retention.purge_read() == 5
    assert told(org_a, rep_a) == []
