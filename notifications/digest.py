"""The daily digest: one email per member and organization with the notifications they
have not read, sent by the periodic job `notifications.send_digests`.

Once per member and day: the member's settings row is locked, its `last_digest_at`
checked and moved on in the same transaction as the sending, so a job run twice (or two
workers at once) sends one. A member who turned the digest off, who has no email address
or nothing unread since their last digest gets none. Should the commit fail after the
mail server took the message, the next run sends it again: a repeated digest is the
lesser harm than a lost one.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization
from notifications.models import Notification, NotificationSettings
from notifications.services import mine, settings_of
from smartweb import time_zones

# The digest lists at most this many notifications; the rest are counted.
DIGEST_MAX_ITEMS = 20
# Never sent before: what came in the last day.
FIRST_DIGEST_SPAN = dt.timedelta(days=1)


def _members_with_unread():
    unread = Notification.objects.filter(read_at__isnull=True).values("recipient_id")
    return (
        Membership.objects.filter(is_active=True, user__is_active=True, user_id__in=unread)
        .exclude(user__email="")
        .select_related("user")
    )


def _page() -> str:
    """The Notifications page: a link when the site's address is known (SITE_URL)."""
    path = reverse("admin:notifications")
    return f"{settings.SITE_URL}{path}" if settings.SITE_URL else f"Notifications ({path})"


def _compose(organization: Organization, notifications: list[Notification], total: int) -> str:
    lines = [f"Unread in {organization.name}:", ""]
    zone = timezone.get_current_timezone_name()
    lines += [
        f"- {n.message} ({timezone.localtime(n.created_at):%d %b %H:%M} {zone})"
        for n in notifications
    ]
    if total > len(notifications):
        lines.append(f"… and {total - len(notifications)} more.")
    lines += [
        "",
        f"Open them in the back office: {_page()}",
        "You can turn this daily email off there.",
    ]
    return "\n".join(lines)


def _send_one(organization: Organization, membership: Membership, now: dt.datetime) -> bool:
    user = membership.user
    row = NotificationSettings.objects.select_for_update().get(pk=settings_of(user).pk)
    if not row.digest_enabled:
        return False
    if row.last_digest_at is not None and (
        timezone.localdate(row.last_digest_at) == timezone.localdate(now)
    ):
        return False
    since = row.last_digest_at or now - FIRST_DIGEST_SPAN
    unread = mine(user).filter(read_at__isnull=True, created_at__gt=since)
    total = unread.count()
    if not total:
        return False
    # Times in the member's zone: theirs, or else the organization's, which the job runs in.
    with time_zones.read_by(user):
        message = _compose(organization, list(unread[:DIGEST_MAX_ITEMS]), total)
    send_mail(
        subject=f"{total} unread notification{'s' if total != 1 else ''} in {organization.name}",
        message=message,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
    row.last_digest_at = now
    row.save(update_fields=["last_digest_at", "updated_at"])
    return True


def due(now: dt.datetime) -> bool:
    """Digests go out from NOTIFICATION_DIGEST_HOUR on, in the current time zone (the
    organization's, in the job); the hourly job sends those not yet sent that day, so a
    worker stopped at that hour sends them later."""
    return timezone.localtime(now).hour >= settings.NOTIFICATION_DIGEST_HOUR


def send_digests(*, organization: Organization, now: dt.datetime | None = None) -> int:
    """Send today's digests of the current organization (its context is set); how many.
    One transaction per member: a failure leaves the others' sent and marked."""
    now = now or timezone.now()
    sent = 0
    for membership in list(_members_with_unread()):
        with transaction.atomic():
            sent += _send_one(organization, membership, now)
    return sent
