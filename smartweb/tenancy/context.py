"""The organization context of the current unit of work.

Two places hold it and they always agree:
- Python context variables, read by managers (defense in depth and good query plans)
  and by the permission service;
- transaction-local PostgreSQL settings (`set_config(..., true)`), read by the RLS
  policies. Being transaction-local, they end with the transaction: a pooled or
  persistent connection never carries them into the next request.

No context means no rows: managers return `.none()` and the policies match nothing.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, connections, transaction

from smartweb.platform_reach import platform_reach

if TYPE_CHECKING:
    from accounts.models import Membership, User

ORGANIZATION_SETTING = "smartweb.organization_id"
USER_SETTING = "smartweb.user_id"


class NoOrganizationContext(RuntimeError):
    """Tenant data was touched outside any organization context."""


@dataclass(frozen=True)
class _State:
    organization_id: uuid.UUID | None = None
    user: Any = None
    membership: Any = None


# _State is a frozen dataclass, so sharing the default instance is safe.
_state: contextvars.ContextVar[_State] = contextvars.ContextVar(
    "smartweb_tenant",
    default=_State(),  # noqa: B039
)


def current_organization_id() -> uuid.UUID | None:
    return _state.get().organization_id


def acting_user() -> User | None:
    """The user on whose behalf the current code runs (history, audit, created_by)."""
    return _state.get().user


def current_membership() -> Membership | None:
    return _state.get().membership


def _set_database(organization_id: uuid.UUID | None, user_id: Any, on=connection) -> None:
    with on.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
            [
                ORGANIZATION_SETTING,
                str(organization_id) if organization_id else "",
                USER_SETTING,
                str(user_id) if user_id else "",
            ],
        )


def activate(
    *, organization_id: uuid.UUID | None, user: Any = None, membership: Any = None
) -> contextvars.Token:
    """Set the context for the rest of the current transaction (must be inside one).

    Used by request handling, where RequestTransactionMiddleware provides the transaction. Returns a
    token for `deactivate`; the request middleware resets in any case.
    """
    token = adopt(organization_id=organization_id, user=user, membership=membership)
    _set_database(organization_id, getattr(user, "pk", None))
    return token


def adopt(
    *, organization_id: uuid.UUID | None, user: Any = None, membership: Any = None
) -> contextvars.Token:
    """Record the context in this process alone: `activate` without its statement, for a
    statement of the request that has just set it in the database itself (the token
    look-up, accounts 0016)."""
    if not connection.in_atomic_block:
        raise RuntimeError("The organization context needs a transaction (atomic block).")
    return _state.set(_State(organization_id, user, membership))


def deactivate(token: contextvars.Token | None = None) -> None:
    if token is not None:
        _state.reset(token)
    else:
        _state.set(_State())
    if connection.in_atomic_block:
        state = _state.get()
        _set_database(state.organization_id, getattr(state.user, "pk", None))


def apply_to(alias: str) -> None:
    """Set the current context on another connection (a read replica, smartweb.replica)
    for the rest of that connection's transaction, which must be open."""
    other = connections[alias]
    if not other.in_atomic_block:
        raise RuntimeError(f"The organization context needs a transaction on {alias!r}.")
    state = _state.get()
    _set_database(state.organization_id, getattr(state.user, "pk", None), on=other)


@contextmanager
def tenant_context(
    organization: Any, *, user: Any = None, membership: Any = None
) -> Iterator[None]:
    """Run the block in one transaction as `organization` (an Organization or its id).

    Commands and background jobs use this; the previous context is restored on exit.
    """
    organization_id = getattr(organization, "pk", organization)
    if organization_id is not None and not isinstance(organization_id, uuid.UUID):
        organization_id = uuid.UUID(str(organization_id))
    with transaction.atomic():
        token = activate(organization_id=organization_id, user=user, membership=membership)
        try:
            yield
        finally:
            deactivate(token)


@contextmanager
def user_context(user: Any) -> Iterator[None]:
    """A user without an organization yet: they see only their own memberships."""
    with tenant_context(None, user=user):
        yield


def activate_platform_access(
    *, actor: Any, organization_id: Any, reason: str, request: Any = None
) -> contextvars.Token:
    """The one way into an organization one is not a member of (inside a transaction).

    Only platform super admins may; every entry is written to the security audit log of
    the organization entered. Grep for `platform_access` to find every crossing.
    """
    from accounts.audit import AuditAction, record_audit_event

    if not platform_reach(actor):
        raise PermissionError("Only platform super admins may cross organizations.")
    token = activate(organization_id=organization_id, user=actor)
    record_audit_event(
        action=AuditAction.CROSS_ORGANIZATION_ACCESS,
        actor=actor,
        request=request,
        details={"reason": reason, "path": getattr(request, "path", "")},
    )
    return token


@contextmanager
def platform_access(
    *, actor: Any, organization: Any, reason: str, request: Any = None
) -> Iterator[None]:
    """`activate_platform_access` for a block of code (commands, support tooling)."""
    with transaction.atomic():
        token = activate_platform_access(
            actor=actor,
            organization_id=getattr(organization, "pk", organization),
            reason=reason,
            request=request,
        )
        try:
            yield
        finally:
            deactivate(token)
