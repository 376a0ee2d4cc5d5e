"""Sharing one lead or opportunity with a colleague, for viewing or for editing (ADR 0041).

A share is django-guardian object grants (`accounts.UserObjectGrant`, under RLS), read by
the permission service (smartweb.access): "read" is a view grant, "update" a view and a
change grant. Sharing is changing who reaches the record: it needs the role's update
right on the resource, and the role's own right to every action the share gives on this
record. Nobody hands on more than their role gives them, and a share is never passed
along by its holder: taking a share back takes back everything it gave.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.audit import AuditAction, record_audit_event
from accounts.models import Membership, User, UserObjectGrant
from crm.models import Opportunity
from leads.models import Lead
from leads.services import lock_record_to_add_to
from sharing.choices import SHARED_ACTIONS, ShareAccess
from sharing.selectors import Share, grants_of, share_candidates, shared_codenames
from smartweb import access
from smartweb.locks import advisory_xact_lock
from smartweb.rbac import Action, Resource

# The records a user may share, each with its resource.
SHAREABLE = {Lead: Resource.LEADS, Opportunity: Resource.OPPORTUNITIES}

NO_SUCH_MEMBER = "No active member of this organization has this id."
BEYOND_THEIR_ROLE = (
    "Their role does not let them do this on any such record: a share widens which"
    " records they reach, not what they may do."
)


def shareable_resource(record) -> str:
    resource = SHAREABLE.get(type(record))
    if resource is None:
        raise TypeError(f"{type(record).__name__} rows are not shared.")
    return resource


def may_share(user: User | None, record, level: str = ShareAccess.READ) -> bool:
    """May `user` share `record` at `level`: their role changes rows of its resource and
    does on this one every action the level gives? None is the system."""
    if user is None:
        return True
    resource = shareable_resource(record)
    return access.can(user, Action.UPDATE, resource, with_grants=False) and all(
        access.can(user, action, resource, obj=record, with_grants=False)
        for action in SHARED_ACTIONS[level]
    )


def _level(value: str) -> str:
    if value not in ShareAccess.values:
        raise ValidationError({"access": f"Choose one of: {', '.join(ShareAccess.values)}."})
    return ShareAccess(value)


def refuse_unless_may_share(acting_user, record, level: str = ShareAccess.READ) -> None:
    """403 unless `acting_user` may share `record` at `level` (at the least, for viewing)."""
    if not may_share(acting_user, record, level):
        raise PermissionDenied(
            "You may share a record only as far as your role lets you view and edit it."
        )


def _colleague(user, acting_user) -> User:
    """The grantee among the organization's active members. Anyone else is answered as an
    id nobody has: a user of another organization is not told apart from no user."""
    user_id = getattr(user, "pk", user)
    if acting_user is not None and str(user_id) == str(acting_user.pk):
        raise ValidationError({"user": "You cannot share a record with yourself."})
    colleague = share_candidates(acting_user).filter(pk=user_id).first()
    if colleague is None:
        raise ValidationError({"user": NO_SUCH_MEMBER})
    return colleague


def _refuse_beyond_their_role(colleague: User, record, level: str) -> None:
    """A share reaches one more record with what the colleague's role does on records of
    its kind: a Read Only member is given no edit share (they would edit what their role
    edits nowhere)."""
    membership = Membership.objects.filter(user=colleague, is_active=True).first()
    role = access.role_grants(membership) if membership is not None else {}
    resource = shareable_resource(record)
    if any((resource, action) not in role for action in SHARED_ACTIONS[level]):
        raise ValidationError({"access": BEYOND_THEIR_ROLE})


def _user_id(user) -> uuid.UUID:
    """The id of `user` (a user or their id); one that is no id is nobody's."""
    try:
        return uuid.UUID(str(getattr(user, "pk", user)))
    except ValueError:
        raise ValidationError({"user": NO_SUCH_MEMBER}) from None


def _lock_share(record, user_id: uuid.UUID) -> None:
    """One writer of a user's share of a record at a time (share, change, take back):
    the second reads what the first wrote, so the grants stay whole and a share taken
    back twice at once is taken back, and audited, once."""
    advisory_xact_lock("share", record.pk, user_id)


def lead_id_of(record):
    """The lead whose erasure makes the record final."""
    return record.pk if isinstance(record, Lead) else record.lead_id


def _held(record, user: User) -> dict[str, UserObjectGrant]:
    """The user's grants on the record, by action."""
    action_of = shared_codenames(type(record))
    grants = grants_of(record).filter(user=user).select_related("permission")
    return {action_of[grant.permission.codename]: grant for grant in grants}


def _level_of(actions) -> str | None:
    if not actions:
        return None
    return ShareAccess.UPDATE if Action.UPDATE in actions else ShareAccess.READ


def _audit(action: str, record, user: User, **details) -> None:
    record_audit_event(
        action=action,
        target=record,
        details={"user": user.email, "user_id": str(user.pk), **details},
    )


@transaction.atomic
def record_share(
    *, record, user, access_level: str, acting_user: User | None
) -> tuple[Share, str | None]:
    """Share `record` with `user` (a member or their id) at `access_level`, or change the
    level of the share they hold. The share, and the level it had before (None: it is
    new). Sharing again at the same level writes nothing and records no second event."""
    level = _level(access_level)
    refuse_unless_may_share(acting_user, record, level)
    if record.deleted_at is not None:
        raise ValidationError("A record in the trash is not shared: restore it first.")
    # A lead merged away meanwhile would keep the share, out of sight.
    lock_record_to_add_to(record)
    colleague = _colleague(user, acting_user)
    _refuse_beyond_their_role(colleague, record, level)
    _lock_share(record, colleague.pk)
    held = _held(record, colleague)
    wanted = SHARED_ACTIONS[level]
    for action in wanted:
        if action not in held:
            UserObjectGrant.objects.create(
                organization_id=record.organization_id,
                user=colleague,
                permission=_permission(action, type(record)),
                content_type=ContentType.objects.get_for_model(type(record)),
                object_pk=str(record.pk),
            )
    dropped = [grant.pk for action, grant in held.items() if action not in wanted]
    UserObjectGrant.objects.filter(pk__in=dropped).delete()
    previous = _level_of(held)
    if previous != level:
        _audit(AuditAction.OBJECT_GRANTED, record, colleague, access=level, previous=previous)
    return Share(colleague, level), previous


@transaction.atomic
def record_unshare(*, record, user, acting_user: User | None) -> bool:
    """Take back the share `user` (a user or their id) holds on `record`: False when they
    hold none. Whoever could have given that share may take it back, also from a record
    whose person was erased (it adds nothing) or that is in the trash."""
    refuse_unless_may_share(acting_user, record, ShareAccess.READ)
    user_id = _user_id(user)
    _lock_share(record, user_id)
    grants = list(grants_of(record).filter(user_id=user_id).select_related("user", "permission"))
    if not grants:
        return False
    action_of = shared_codenames(type(record))
    level = _level_of({action_of[grant.permission.codename] for grant in grants})
    refuse_unless_may_share(acting_user, record, level)
    UserObjectGrant.objects.filter(pk__in=[grant.pk for grant in grants]).delete()
    _audit(AuditAction.OBJECT_REVOKED, record, grants[0].user, access=level)
    return True


def _permission(action: str, model) -> Permission:
    return Permission.objects.get(
        content_type=ContentType.objects.get_for_model(model),
        codename=access.grant_codename(action, model),
    )
