"""Read paths of the accounts domain shared by the API and the admin."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Membership, User
from smartweb.rbac import ADMIN_ROLE_SLUGS


def member_users() -> QuerySet[User]:
    """Users with a membership (active or not) in the current organization; none without
    an organization context. Users are global rows, so every choice of a user (a team's
    manager, a filter) must go through this rather than `User.objects`."""
    return User.objects.filter(pk__in=Membership.objects.values("user_id")).order_by("email")


def active_admins() -> QuerySet[Membership]:
    """The current organization's active admins, of either admin role (an Organization
    Super Admin is told what an Organization Admin is told), with their users."""
    return Membership.objects.filter(
        is_active=True, role__slug__in=ADMIN_ROLE_SLUGS, user__is_active=True
    ).select_related("user")
