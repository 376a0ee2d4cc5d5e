"""Who a note mentions: "@" followed by a member's email address or full name, as written
in their profile ("@pat@example.com", "@Pat Lee"), case-insensitive. Only active members
of the current organization can be mentioned; anything else after "@" is plain text."""

from __future__ import annotations

import re

from accounts.models import Membership


def _pattern(name: str) -> re.Pattern:
    # Not inside a word or an address before the "@"; not running on into a longer name
    # or address after it ("@Pat Lee" is not "@Pat Leeds"). A full stop may end it.
    return re.compile(rf"(?<![\w@.])@{re.escape(name)}(?![\w@-]|\.\w)", re.IGNORECASE)


def mentioned_members(text: str) -> list[Membership]:
    """The active memberships of the current organization whose user `text` mentions."""
    if "@" not in (text or ""):
        return []
    members = Membership.objects.filter(is_active=True, user__is_active=True).select_related("user")
    found = []
    for membership in members:
        names = {membership.user.email, membership.user.full_name.strip()}
        if any(name and _pattern(name).search(text) for name in names):
            found.append(membership)
    return found
