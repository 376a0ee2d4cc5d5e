"""A user's API tokens in every organization they have been a member of: counted on the
password pages, revoked with a new password when the user (or whoever resets it) asks.

Tokens are tenant rows, each under its organization's policy: they are read there, one
organization at a time, as sign-in reads the user's memberships (ADR 0044). A removed
member's organizations are included: invited again, their membership and with it their
old tokens would come back.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import APIToken, Membership, User
from smartweb.tenancy.context import tenant_context, user_context


def _organization_ids(user: User) -> list:
    with user_context(user):
        return list(
            Membership.for_user_lookup.filter(user=user)
            .order_by("organization_id")
            .values_list("organization_id", flat=True)
            .distinct()
        )


def active_in_each_organization(user: User, *, acting_user: User | None) -> Iterator[QuerySet]:
    """The user's tokens neither revoked nor expired, one organization at a time, each
    queryset yielded inside that organization's context (as `acting_user`)."""
    for organization_id in _organization_ids(user):
        with tenant_context(organization_id, user=acting_user):
            now = timezone.now()
            yield APIToken.objects.filter(user=user, revoked_at__isnull=True).filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=now)
            )


def active_count(user: User) -> int:
    return sum(tokens.count() for tokens in active_in_each_organization(user, acting_user=user))
