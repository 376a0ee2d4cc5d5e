"""Choosing the organization of a request: X-Organization header, token, or default.

A header naming an organization the user is not an active member of is refused (403);
so is a deactivated membership or organization. Platform super admins may name any
organization, and enter it through `platform_access` (audited).
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from accounts.models import Membership, Organization
from smartweb import access
from smartweb.platform_reach import confined_to
from smartweb.tenancy import context

ORGANIZATION_HEADER = "HTTP_X_ORGANIZATION"


def _matches(membership, requested: str) -> bool:
    try:
        return membership.organization_id == uuid.UUID(requested)
    except ValueError:
        return membership.organization.slug == requested


def find_organization(requested: str) -> Organization | None:
    if "\x00" in requested:  # no slug holds one, and PostgreSQL text cannot
        return None
    try:
        query = Q(pk=uuid.UUID(requested))
    except ValueError:
        query = Q(slug=requested)
    return Organization.objects.filter(query).first()


def user_memberships(user):
    """The user's memberships in every organization (visible by the user-own policy)."""
    return (
        Membership.for_user_lookup.filter(user=user, deleted_at__isnull=True)
        .select_related("organization")
        .order_by("joined_at")
    )


def reachable_memberships(user):
    """The memberships the user's sign-in may act through: every one, or the one of the
    organization a confined sign-in vouches for (`smartweb.platform_reach`)."""
    memberships = user_memberships(user)
    confined = confined_to(user)
    return memberships if confined is None else memberships.filter(organization_id=confined)


def choose_membership(user, requested: str | None, memberships=None) -> Membership | None:
    """The membership the request acts through, or None (sees nothing). Raises 403.
    `memberships`: the user's, when the caller has read them already."""
    candidates = list(user_memberships(user)) if memberships is None else memberships
    if requested:
        membership = next((m for m in candidates if _matches(m, requested)), None)
    else:
        usable = [m for m in candidates if m.is_active and m.organization.is_active]
        default = [m for m in candidates if m.organization_id == user.default_organization_id]
        preferred = default or usable or candidates
        if not preferred:
            return None
        membership = preferred[0]
    return _usable(membership)


def _usable(membership: Membership | None) -> Membership:
    if membership is None:
        raise PermissionDenied("You are not a member of that organization.")
    if not membership.is_active:
        raise PermissionDenied("Your membership of this organization is deactivated.")
    if not membership.organization.is_active:
        raise PermissionDenied("This organization is deactivated.")
    return membership


def token_membership(token, requested: str | None) -> Membership:
    """The membership a token acts through: its user's in its organization, read with
    the token (`smartweb.api.authentication.lookup_token`)."""
    organization = token.organization
    if requested and requested not in (str(organization.pk), organization.slug):
        raise PermissionDenied("This token belongs to another organization.")
    membership = token.membership
    if membership is not None:
        membership.organization = organization
    return _usable(membership)


CONFINED_REFUSAL = (
    "This session was signed in through an organization's identity provider and reaches "
    "that organization only; sign in again to work in another."
)


def confined_organization(request) -> str | None:
    """The one organization a request may act in, where its sign-in vouches for no other
    (a session signed in through an organization's provider, or a token it made)."""
    return confined_to(getattr(request, "user", None))


def activate_request(request, user, *, requested: str | None, token=None) -> None:
    """Set the organization context for the rest of the request's transaction."""
    confined = confined_organization(request)
    if token is not None:
        # The token's look-up left the context on its organization, user and membership.
        membership = token_membership(token, requested)
    else:
        context.activate(organization_id=None, user=user)
        # Kept for the page's organization switcher (smartweb.admin_site), which lists them.
        request.user_memberships = list(user_memberships(user))
        try:
            membership = choose_membership(user, requested or confined, request.user_memberships)
            if confined and membership is not None and str(membership.organization_id) != confined:
                raise PermissionDenied(CONFINED_REFUSAL)
        except PermissionDenied:
            if requested and access.platform_admin(request):
                _enter_as_platform_admin(request, user, requested)
                return
            raise
        if membership is None:
            return
        context.activate(
            organization_id=membership.organization_id, user=user, membership=membership
        )
    request.organization = membership.organization
    request.membership = membership


def _enter_as_platform_admin(request, user, requested: str) -> None:
    organization = find_organization(requested)
    if organization is None:
        raise PermissionDenied("No such organization.")
    context.activate_platform_access(
        actor=user, organization_id=organization.pk, reason="super admin request", request=request
    )
    request.organization = organization
    request.membership = None
