"""Read paths of the accounts domain shared by the API and the admin."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Membership, User


def member_users() -> QuerySet[User]:
    """Users with a membership (active or not) in the current organization; none without
    an organization context. Users are global rows, so every choice of a user (a team's
    manager, a filter) must go through this rather than `User.objects`."""
    return User.objects.filter(pk__in=Membership.objects.values("user_id")).order_by("email")
