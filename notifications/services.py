"""Writes of notifications: made by the events and jobs that concern a person, read and
marked read by that person alone.

`notify` writes in the caller's transaction, so a notification exists if and only if the
change it reports committed. Its `dedupe_key` is unique per organization: a second write
with the same key (a job run twice, two workers at once) inserts nothing, in one
statement (INSERT … ON CONFLICT DO NOTHING), without a read-then-write race.
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import Membership, User
from notifications.models import Notification, NotificationSettings
from smartweb.tenancy.context import current_organization_id

MESSAGE_MAX_LENGTH = Notification._meta.get_field("message").max_length


def _is_member(user: User) -> bool:
    return Membership.objects.filter(user=user, is_active=True, user__is_active=True).exists()


def notify(
    *,
    recipient: User | None,
    kind: str,
    target: models.Model,
    message: str,
    dedupe_key: str,
    actor: User | None = None,
) -> Notification | None:
    """Tell `recipient` about `target`; the notification, or None when nobody is told:
    no recipient, the recipient caused it (nobody is told of their own act), the recipient
    is not an active member here, or `dedupe_key` was used before in this organization."""
    if recipient is None or (actor is not None and actor.pk == recipient.pk):
        return None
    if not _is_member(recipient):
        return None
    notification = Notification(
        organization_id=current_organization_id(),
        recipient=recipient,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        kind=kind,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        message=message[:MESSAGE_MAX_LENGTH],
        dedupe_key=dedupe_key,
    )
    if notification.organization_id is None:
        raise RuntimeError("A notification is written in an organization's context.")
    (created,) = Notification.objects.bulk_create([notification], ignore_conflicts=True)
    # With ignore_conflicts the returned row has no way to say it was skipped: look.
    if not Notification.objects.filter(pk=created.pk).exists():
        return None
    return created


def mine(user: User):
    """The user's own notifications in the current organization, whatever their role:
    an organization admin sees only theirs too."""
    return Notification.objects.filter(recipient=user)


@transaction.atomic
def notification_mark_read(*, notification: Notification, user: User) -> Notification:
    """Mark one of the user's notifications read (again: nothing changes)."""
    if notification.recipient_id != user.pk:
        raise Notification.DoesNotExist  # another person's: as if it did not exist
    now = timezone.now()
    if mine(user).filter(pk=notification.pk, read_at__isnull=True).update(read_at=now):
        notification.read_at = now
    else:
        notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; how many."""
    return mine(user).filter(read_at__isnull=True).update(read_at=timezone.now())


def settings_of(user: User) -> NotificationSettings:
    """The member's settings here, made with the defaults when first asked for."""
    existing = NotificationSettings.objects.filter(user=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return NotificationSettings.objects.create(
                organization_id=current_organization_id(), user=user
            )
    except IntegrityError:
        # Made meanwhile by a concurrent request: read theirs.
        return NotificationSettings.objects.get(user=user)


@transaction.atomic
def settings_update(*, user: User, digest_enabled: bool) -> NotificationSettings:
    """Turn the user's daily digest in this organization on or off."""
    current = settings_of(user)
    current = NotificationSettings.objects.select_for_update().get(pk=current.pk)
    if current.digest_enabled != digest_enabled:
        current.digest_enabled = digest_enabled
        current.save(update_fields=["digest_enabled", "updated_at"])
    return current


@transaction.atomic
def notifications_erase(*, target_type: str, targets) -> int:
    """Delete for good the notifications about the given records of one model (its label,
    and ids or a queryset of ids): an erased person's data leaves every inbox too."""
    found = Notification.objects.filter(target_type=target_type, target_id__in=targets)
    deleted, _ = found.delete()
    return deleted
