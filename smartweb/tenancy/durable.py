"""Writes that outlive the request's rollback: the record of a refusal.

RequestTransactionMiddleware rolls the request's transaction back when the response is a
server error (5xx) or the view raised, and the API's error handler does for every refused
request: nothing the view wrote may stay. Some rows must stay whatever the answer: the
audit row of a refused sign-in (an identity provider unreachable is a 502 page), a failed
login and the count towards its lock. Such a write is marked durable:

    @durable
    def audit_refusal(request, *, organization_id, reason): ...

Called during a request, a durable function does not run at once: it runs when the
request's transaction has ended (committed or rolled back), in a transaction of its own,
in the organization context (organization, user, membership) that was current when it was
called, under the same policies as any other write (the application's role, RLS on). So
it is kept exactly once whether the rest of the request is kept or not, and it reads
nothing the request wrote but did not keep. Called anywhere else (a job, a command, a
test calling a service), it runs at once in the caller's transaction.

A durable write returns nothing: its effect may come after the caller returns. Keep such
functions small and self-contained (their arguments are what they need), and mark only
what must survive a failed request; everything else stays with the request's transaction.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

from django.db import connection, transaction

from smartweb.tenancy.context import _state, activate, deactivate

logger = logging.getLogger(__name__)

P = ParamSpec("P")

# The durable writes of the current request, in the order they were asked for, each with
# the context it was asked for in; None outside a request.
_pending: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "smartweb_durable_writes", default=None
)


def durable(write: Callable[P, None]) -> Callable[P, None]:
    """Make `write` durable (see the module): during a request it runs after the
    request's transaction, kept even when that transaction is rolled back."""

    @functools.wraps(write)
    def deferred(*args: P.args, **kwargs: P.kwargs) -> None:
        pending = _pending.get()
        if pending is None:
            write(*args, **kwargs)
        else:
            pending.append((_state.get(), functools.partial(write, *args, **kwargs)))

    return deferred


@contextmanager
def collected() -> Iterator[None]:
    """Collect the durable writes of the block (a request's handling), and run them when
    it ends, after its transaction. Used by RequestTransactionMiddleware."""
    token = _pending.set([])
    try:
        yield
    finally:
        pending = _pending.get()
        _pending.reset(token)
        _run(pending)


def _run(pending: list) -> None:
    for state, write in pending:
        # Inside an outer transaction (a test's) the setting would outlive ours: put the
        # outer context back. Otherwise it ends with our transaction.
        nested = connection.in_atomic_block
        try:
            with transaction.atomic():
                token = activate(
                    organization_id=state.organization_id,
                    user=state.user,
                    membership=state.membership,
                )
                try:
                    write()
                finally:
                    if nested:
                        deactivate(token)
                    else:
                        _state.reset(token)
        except Exception:
            # The response is decided; a write that fails here (the database gone) must
            # not take the others with it, nor turn the answer into another one.
            logger.exception("A durable write failed: %r", write)
