"""Reads of notifications for the header and the lists."""

from __future__ import annotations

from notifications.services import mine


def unread_count(user) -> int:
    """The user's unread notifications in the current organization (0 without one)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return mine(user).filter(read_at__isnull=True).count()
