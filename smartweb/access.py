"""The permission service: one answer for the API, the admin and the services.

    can(user, Action.UPDATE, Resource.LEADS, obj=lead)   -> bool
    visible(user, Action.READ, Lead.objects.all())        -> the rows the user may see

Role permissions give a scope per (resource, action): own (the object's owner field is
the user), team (owned by a member of the user's team), all (the whole organization).
Explicit object grants (django-guardian, `UserObjectGrant`) add single objects on top of
a scope the role gives for that action, never in place of one: a grant stops counting
when the user's role no longer does that action on any row of the resource (a member
made Read Only keeps no edit share). They are written by sharing a record
(`sharing.services`) and only read here. A model whose rows are part of their parent's
record names the actions a grant of the parent gives on them in `shared_with_parent`
(a lead's notes and calls are read with the lead: `{Action.READ: "lead"}`), within the
scope the role gives on the model, as for its own grants.
Models say who owns a row with `scope_owner_field` (a field path such as
"assigned_to", "lead__assigned_to" or a team's "memberships__user", or a tuple of paths
any of which owns it) and
which resource they are with `rbac_resource`.
Everything is evaluated in the current organization context and fails closed.
"""

from __future__ import annotations

import operator
from functools import reduce

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet

from smartweb.errors import NOT_PERMITTED
from smartweb.models import SCOPE_MEMO, stored_rows
from smartweb.platform_reach import platform_reach
from smartweb.rbac import SCOPE_RANK, Action, Resource, Scope
from smartweb.tenancy.context import current_membership, current_organization_id

_DJANGO_ACTION = {
    Action.READ: "view",
    Action.UPDATE: "change",
    Action.DELETE: "delete",
    Action.CREATE: "add",
}


def platform_admin(request) -> bool:
    """Is the request's user a platform super admin, on a sign-in that reaches every
    organization? Not on one an organization's identity provider vouched for, which is
    its membership there, as any member's (`smartweb.platform_reach`). The one rule for
    every page and API of platform-wide reach (every organization, every user, the
    global tables); services ask `platform_reach` of their acting user."""
    return platform_reach(request.user)


def _entered_as_platform_admin(user) -> bool:
    """A super admin inside an organization they entered through platform access."""
    return bool(
        platform_reach(user)
        and current_organization_id() is not None
        and current_membership() is None
    )


def _widest(rows) -> dict[tuple[str, str], str]:
    """(resource, action) -> the widest scope among (resource, action, scope) rows."""
    grants: dict[tuple[str, str], str] = {}
    for resource, action, scope in rows:
        key = (resource, action)
        if key not in grants or SCOPE_RANK[Scope(scope)] > SCOPE_RANK[Scope(grants[key])]:
            grants[key] = scope
    return grants


def role_grants(membership) -> dict[tuple[str, str], str]:
    """(resource, action) -> scope for the membership's role, cached on the instance."""
    cached = getattr(membership, "_role_grants", None)
    if cached is None:
        from accounts.models import RolePermission

        rows = RolePermission.objects.filter(role_id=membership.role_id).values_list(
            "resource", "action", "scope"
        )
        cached = membership._role_grants = _widest(rows)
    return cached


def preload(user, membership, *, role_rows, has_object_grants: bool) -> None:
    """Hand this service what it would read of a membership, read already by the caller
    in the membership's organization (the API token look-up reads it with the token)."""
    membership._role_grants = _widest(role_rows)
    user._has_object_grants = (membership.organization_id, has_object_grants)


def scope_for(user, action: str, resource: str) -> Scope | None:
    """The widest scope the current membership has for (resource, action), or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if _entered_as_platform_admin(user):
        return Scope.ALL
    membership = current_membership()
    if membership is None or membership.user_id != user.pk or not membership.is_active:
        return None
    scope = role_grants(membership).get((resource, action))
    return Scope(scope) if scope else None


def team_member_ids(membership) -> list:
    """Users in the membership's team (the user alone when they have no team)."""
    from accounts.models import Membership

    if membership is None or membership.team_id is None:
        return [membership.user_id] if membership else []
    return list(
        Membership.objects.filter(team_id=membership.team_id, is_active=True).values_list(
            "user_id", flat=True
        )
    )


def assignable_users(user, action: str, resource: str) -> QuerySet:
    """Whom `user` may make the owner or assignee of a `resource` row: every active
    member with "all" scope, their team's with "team", themselves alone with "own"."""
    from accounts.models import Membership, User

    scope = scope_for(user, action, resource)
    members = Membership.objects.filter(is_active=True)
    if scope == Scope.TEAM:
        members = members.filter(user_id__in=team_member_ids(current_membership()))
    elif scope == Scope.OWN:
        members = members.filter(user_id=user.pk)
    elif scope != Scope.ALL:
        return User.objects.none()
    return User.objects.filter(is_active=True, pk__in=members.values("user_id")).order_by("email")


def former_members(user, action: str, resource: str) -> QuerySet:
    """The organization's former members, whose rows stay theirs until reassigned (a
    membership removed or deactivated, a user deactivated), for a user who reads every
    member's rows: a team's and one's own rows are those of active members only."""
    from accounts.models import Membership, User

    if scope_for(user, action, resource) != Scope.ALL:
        return User.objects.none()
    current = assignable_users(user, action, resource).values("pk")
    ever = Membership.all_objects.values("user_id")
    return User.objects.filter(pk__in=ever).exclude(pk__in=current).order_by("email")


def unowned_scope(model, action: str) -> Scope:
    """The scope a row no one owns (a pipeline, a tag) needs for `action`: the model's
    `unowned_scope` says so per action (the tag list is read at any scope, renamed from
    team scope up), the whole organization's by default."""
    return Scope(getattr(model, "unowned_scope", {}).get(action, Scope.ALL))


# A team's rows of several paths, from how many of them a list walks its own order and
# keeps the team's (`_owner_q`): at 1M leads, a team's 14,455 companies of 130,497 were
# read so in 35 ms, against 184 ms looked up by id; one rep's 1,881 in 58 against 52 ms,
# none in 171 against 1.5 ms (bench/README.md).
TEAM_WALK_FROM = 5_000


def _owner_q(model, user, scope: Scope, action: str, *, listing: bool = False) -> Q | None:
    """The filter of rows within `scope`; None means no filter (all). `listing`: for a
    list, not a check of one row (`can`, `within_scope`)."""
    if scope == Scope.ALL:
        return None
    owner_fields = getattr(model, "scope_owner_field", None)
    if owner_fields is None:
        reached = SCOPE_RANK[scope] >= SCOPE_RANK[unowned_scope(model, action)]
        return None if reached else Q(pk__in=[])
    if scope == Scope.OWN:
        lookup, owners = "", user.pk
    else:
        lookup, owners = "__in", team_member_ids(current_membership())
    if isinstance(owner_fields, str):
        return Q(_owned(model, owner_fields, lookup, owners))
    # Owned by any of several paths (a company: its lead's assignee or its creator): the
    # ids each path finds through its own index, united, as one `pk IN`. Or'ed, a
    # sub-select and a column are a filter on every row of the organization: a sales
    # rep's 1,881 companies were found by reading all 130,497 at 1M leads (bench/README.md).
    first, *others = (_owned_ids(model, path, lookup, owners)[0] for path in owner_fields)
    ids = first.union(*others, all=True)
    if not listing or (scope == Scope.TEAM and ids[:TEAM_WALK_FROM].count() == TEAM_WALK_FROM):
        # One row checked: its paths or'ed, each an EXISTS (`_owned_row`), probe for that
        # row by key, where the union first reads every row its owners hold, and no count
        # decides. A list, unless a team holds many (a sales
        # manager's at 100k leads: 11,777 companies of 13,054): PostgreSQL estimates the
        # ids of a union at 200 whatever their number, so each was looked up and all
        # sorted for a page. Or'ed, a list walks its ordering's index and keeps the
        # team's, and its count reads an index of ids alone.
        return reduce(operator.or_, (Q(_owned_row(model, p, lookup, owners)) for p in owner_fields))
    return Q(pk__in=ids)


def _owned(model, path: str, lookup: str, owners) -> tuple[str, object]:
    """The lookup of rows whose owner at the end of `path` matches `owners`. A path
    through a parent (`lead__assigned_to`) is a sub-select of the parent's active rows
    through its tenant manager, not a join: the sub-select names the organization to the
    planner, where a joined tenant table hides it behind the policy, and a sales rep's AI
    calls were found by reading all 130,000 leads of the organization (24 ms at 1M leads,
    bench/README.md). A row of a parent in the trash is no longer anyone's own. A path
    through rows that point at this one (a team's `memberships__user`) selects the rows
    they point at: a join would repeat a team once per member."""
    head, _, rest = path.partition("__")
    if not rest:
        return f"{path}{lookup}", owners
    relation = model._meta.get_field(head)
    parent = relation.related_model
    owned = parent._default_manager.filter(Q(_owned(parent, rest, lookup, owners)))
    if relation.one_to_many:
        return "pk__in", owned.values(relation.field.name)
    return f"{head}__in", owned.values("pk")


def _owned_ids(model, path: str, lookup: str, owners) -> tuple[QuerySet, str]:
    """The ids of the `model` rows `path` makes owned (`_owned`), as one sub-select, and
    its field holding them: the parent rows' own key to them when they point at this one,
    not a look-up of each; else the model's rows found by their owner's index."""
    name, value = _owned(model, path, lookup, owners)
    if name == "pk__in":
        return value.order_by(), model._meta.get_field(path.partition("__")[0]).field.name
    return stored_rows(model).filter(**{name: value}).order_by().values("pk"), "pk"


def _owned_row(model, path: str, lookup: str, owners) -> Exists:
    """Is this row among `_owned_ids`? An EXISTS of its id there, which PostgreSQL hashes
    once for a list: a list counted reads only its index of ids, where a column or'ed
    (`created_by_id IN …`) reads each row (27 against 204 ms for a manager's 14,455
    companies of 130,497 at 1M leads)."""
    ids, key = _owned_ids(model, path, lookup, owners)
    return Exists(ids.filter(**{key: OuterRef("pk")}))


def grant_codename(action: str, model) -> str:
    """The django-guardian permission an object grant of `action` on a `model` row names."""
    return f"{_DJANGO_ACTION[Action(action)]}_{model._meta.model_name}"


def _granted_pks(user, action: str, model) -> list[str]:
    from accounts.models import UserObjectGrant

    return list(
        UserObjectGrant.objects.filter(
            organization_id=current_organization_id(),
            user_id=user.pk,
            permission__codename=grant_codename(action, model),
            content_type=ContentType.objects.get_for_model(model),
        ).values_list("object_pk", flat=True)
    )


def _granted_q(user, action: str, model) -> Q:
    """The rows granted to `user` for `action`, and, for an action the model names in
    `shared_with_parent` (action -> the field of its parent), the rows of the parents
    granted for it that are not in the trash (a lead's notes are read by whoever it is
    shared with). A sub-select of the parents, as an owner path through them is."""
    granted = Q(pk__in=_granted_pks(user, action, model))
    parent_field = getattr(model, "shared_with_parent", {}).get(action)
    if parent_field is not None:
        parent = model._meta.get_field(parent_field).related_model
        shared = parent._default_manager.filter(pk__in=_granted_pks(user, action, parent))
        granted |= Q(**{f"{parent_field}__in": shared.values("pk")})
    return granted


def resource_of(model) -> str:
    return model.rbac_resource


def _kept_private(model, user) -> Q | None:
    """The rows of a model that keeps some rows to their owner whatever a role's scope (a
    private saved view): its `visible_to_q(user)` names those the user may see at all."""
    visible_to_q = getattr(model, "visible_to_q", None)
    return visible_to_q(user) if visible_to_q is not None else None


def visible(
    user,
    action: str,
    queryset: QuerySet,
    resource: str | None = None,
    *,
    with_grants: bool = True,
    listing: bool = True,
) -> QuerySet:
    """The rows of `queryset` the user may act on with `action`. `with_grants=False`: those
    their role alone reaches, shares left out (as `can`). `listing=False`: the queryset is
    one row (`within_scope`), filtered in the form that finds one row."""
    model = queryset.model
    # Rows whose access is their record's, of several kinds (attachments: ADR 0030).
    records_q = getattr(model, "records_q", None)
    if records_q is not None:
        return queryset.filter(records_q(user, action))
    private = _kept_private(model, user)
    if private is not None and user is not None:
        queryset = queryset.filter(private)
    resource = resource or resource_of(model)
    scope = scope_for(user, action, resource)
    if scope is None:
        return queryset.none()
    granted = _granted_q(user, action, model) if with_grants and _has_object_grants(user) else None
    owner_q = _owner_q(model, user, scope, action, listing=listing)
    if owner_q is None:
        return queryset
    return queryset.filter(owner_q | granted if granted is not None else owner_q)


def within_scope(user, action: str, obj, resource: str | None = None) -> bool:
    """Is `obj` among the rows `visible(user, action, …, resource)` gives? With another
    model's `resource`, the rule of a new row that belongs to `obj` (a lead's interaction
    is created in the lead's scope). Read once per object, user, action and resource: a
    lead's page asks it for each of its steps. Saving the object forgets the answer."""
    rows = type(obj)._default_manager.filter(pk=obj.pk)
    return _remembered(
        obj,
        (user.pk, "visible", action, resource),
        lambda: visible(user, action, rows, resource=resource, listing=False).exists(),
    )


# `owners_in_scope` of a user who may act on every row of the resource.
ALL_OWNERS = "all"


def owners_in_scope(user, action: str, resource: str):
    """Whose rows of `resource` the user may act on, when their owners alone say it:
    ALL_OWNERS, or a list of owner ids (none without a scope). None when object grants
    add rows one by one: only the rows themselves can tell (summaries kept per owner,
    crm.rollups, cannot)."""
    if _has_object_grants(user):
        return None
    scope = scope_for(user, action, resource)
    if scope is None:
        return []
    if scope == Scope.ALL:
        return ALL_OWNERS
    if scope == Scope.OWN:
        return [user.pk]
    return list(team_member_ids(current_membership()))


def _has_object_grants(user) -> bool:
    from accounts.models import UserObjectGrant

    cache = getattr(user, "_has_object_grants", None)
    if cache is None or cache[0] != current_organization_id():
        exists = UserObjectGrant.objects.filter(
            organization_id=current_organization_id(), user_id=user.pk
        ).exists()
        cache = (current_organization_id(), exists)
        user._has_object_grants = cache
    return cache[1]


def can(user, action: str, resource: str, obj=None, *, with_grants: bool = True) -> bool:
    """May `user` do `action` on `resource` (on `obj`, when given)? Without an object: may
    they do it on some row, which only their role says (a grant counts within a scope of
    that action, never without one). `with_grants=False` asks the role alone: what a user
    may hand on to a colleague (a share is given from one's role, never passed along from
    a share: ADR 0041)."""
    scope = scope_for(user, action, resource)
    if scope is None:
        return False
    if obj is None:
        return True
    if obj.organization_id != current_organization_id():
        return False
    if getattr(obj, "hidden_from", None) is not None and obj.hidden_from(user):
        return False
    if scope == Scope.ALL:
        return True
    model = type(obj)
    owner_q = _owner_q(model, user, scope, action)
    if owner_q is None or _selects(obj, (user.pk, scope, action), lambda: owner_q):
        return True
    return (
        with_grants
        and _has_object_grants(user)
        and _selects(obj, (user.pk, "granted", action), lambda: _granted_q(user, action, model))
    )


def _selects(obj, key: tuple, condition) -> bool:
    """Is `obj` among the rows `condition()` selects? Read once per object and key (the
    user, and their scope or grants, for an action): a page asks it of one row for each of
    its buttons and inlines. A row in the trash is judged too: whose it is does not change
    with its deletion, and restoring it asks exactly that."""
    rows = stored_rows(type(obj))
    return _remembered(obj, key, lambda: rows.filter(condition(), pk=obj.pk).exists())


def _remembered(obj, key: tuple, answer) -> bool:
    """`answer()`, kept on the object under `key`; saving the object forgets its answers
    (TenantModel.save)."""
    memo = obj.__dict__.setdefault(SCOPE_MEMO, {})
    if key not in memo:
        memo[key] = answer()
    return memo[key]


def shown_to(user, row):
    """`row` where `user` may read it, else None. A page or an answer that names a row
    another one points at (a membership's role) names it only to whoever may read it, as
    a filter by such rows offers only those (`smartweb.admin.ReadableRelatedFilter`): a
    sales rep reads the members and their teams, not the roles."""
    if row is None or not can(user, Action.READ, resource_of(type(row)), obj=row):
        return None
    return row


def require(user, action: str, resource: str, obj=None) -> None:
    """The check every service that writes makes itself, whoever called it (the API, the
    admin, a command): PermissionDenied unless `user` may. None is the system (jobs,
    commands, the provider's webhook, demo data), which acts for no user."""
    if user is not None and not can(user, action, resource, obj=obj):
        raise PermissionDenied(NOT_PERMITTED)


def can_organization_wide(user, action: str, resource: str) -> bool:
    """May `user` do `action` on `resource` for the whole organization (scope "all")? What
    acts for every row of the organization at once (a setting, a secret that signs for
    all of its leads) needs this: a team's or one's own scope does not reach so far."""
    return scope_for(user, action, resource) == Scope.ALL


def require_organization_wide(user, action: str, resource: str) -> None:
    """`require` for what acts on the whole organization (`can_organization_wide`)."""
    if user is not None and not can_organization_wide(user, action, resource):
        raise PermissionDenied(
            "This changes the whole organization: it needs the permission for all of it."
        )


__all__ = [
    "Action",
    "Resource",
    "Scope",
    "assignable_users",
    "can",
    "require",
    "scope_for",
    "shown_to",
    "unowned_scope",
    "visible",
]
