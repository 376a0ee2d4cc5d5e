"""Who a record is shared with, and whom it may be shared with."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from accounts.models import Membership, User, UserObjectGrant
from sharing.choices import SHARED_ACTIONS, ShareAccess
from smartweb import people
from smartweb.access import grant_codename
from smartweb.rbac import Action
from smartweb.tenancy.context import current_organization_id


@dataclass(frozen=True)
class Share:
    user: User
    access: str


def shared_codenames(model) -> dict[str, str]:
    """The permission of each action a share of a `model` row may give -> that action."""
    return {grant_codename(action, model): action for action in SHARED_ACTIONS[ShareAccess.UPDATE]}


def grants_of(record) -> QuerySet[UserObjectGrant]:
    """The record's object grants of the actions a share gives, in this organization."""
    model = type(record)
    return UserObjectGrant.objects.filter(
        organization_id=current_organization_id(),
        content_type=ContentType.objects.get_for_model(model),
        object_pk=str(record.pk),
        permission__codename__in=list(shared_codenames(model)),
    )


def shares_of(record) -> list[Share]:
    """One share per colleague, by email: "update" when they hold the change grant."""
    action_of = shared_codenames(type(record))
    users: dict = {}
    actions: dict = {}
    for grant in grants_of(record).select_related("user", "permission").order_by("user__email"):
        users[grant.user_id] = grant.user
        actions.setdefault(grant.user_id, set()).add(action_of[grant.permission.codename])
    return [
        Share(users[pk], ShareAccess.UPDATE if Action.UPDATE in held else ShareAccess.READ)
        for pk, held in actions.items()
    ]


def share_candidates(acting_user: User | None) -> QuerySet[User]:
    """The organization's active members, but the one sharing. Users are global rows: the
    organization's memberships (under RLS) say who is one of its members."""
    members = Membership.objects.filter(is_active=True).values("user_id")
    users = User.objects.filter(is_active=True, pk__in=members).order_by("email")
    return users.exclude(pk=acting_user.pk) if acting_user is not None else users


def colleague_names(users) -> dict:
    """Each of `users`' names by id, as the back office names people: by name, with the
    email beside a name two members of the organization share (`people.names_told_apart`).
    The "Shared with" box, the share chooser and the API's share rows name them so."""
    return people.names_told_apart(users, among=share_candidates(None))
