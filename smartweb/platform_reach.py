"""Whose sign-in reaches the whole platform.

A platform super admin (`User.is_superuser`) reaches every organization, every user and
the global tables, but only on a sign-in that vouches for that much: a password. An
organization's identity provider vouches for its own members alone, so a session it
signed in, and a token that session made, are confined to that organization: the super
admin acts there as the member they are, as any member would. The mark is kept on the
request's user object, which every service receives as its acting user, so one rule
answers the pages, the API and the services alike.
"""

from __future__ import annotations

from typing import Any

_CONFINED = "confined_to_organization"


def confine(user: Any, organization_id: Any) -> None:
    """Mark the request's `user` as signed in for `organization_id` alone."""
    setattr(user, _CONFINED, str(organization_id))


def confined_to(user: Any) -> str | None:
    """The one organization the user's sign-in vouches for, or None (no confinement)."""
    return getattr(user, _CONFINED, None)


def platform_reach(user: Any) -> bool:
    """Is `user` a platform super admin whose sign-in reaches every organization?"""
    return bool(getattr(user, "is_superuser", False)) and confined_to(user) is None
