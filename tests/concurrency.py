"""Races between real database sessions, made deterministic: one session holds its locks
while a change runs in a thread on its own connection (`Racer`), and the test waits
until the database shows that change waiting for those locks (`wait_until_blocked`)
before letting the first session go on. `second_connection` and `held_elsewhere` look at
the locks from a third session. Tests racing committed rows commit for real
(`django_db(transaction=True)`)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import psycopg
from django.db import OperationalError, connection, transaction

from smartweb.tenancy.context import ORGANIZATION_SETTING, tenant_context
from tests.crm.conftest import owner_connection


class Racer:
    """`call()` in a thread on its own connection (in `organization`'s context, with
    `user` acting, when given): its `result`, or the `error` it raised."""

    def __init__(self, call: Callable, organization=None, user=None):
        self.result = None
        self.error: BaseException | None = None
        self.pid: int | None = None
        self._started = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(call, organization, user))

    def _run(self, call, organization, user) -> None:
        try:
            connection.ensure_connection()
            self.pid = connection.connection.info.backend_pid
            self._started.set()
            in_context = tenant_context(organization, user=user) if organization else nullcontext()
            with in_context:
                self.result = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc
        finally:
            self._started.set()
            self._done.set()
            connection.close()

    def start(self) -> Racer:
        self._thread.start()
        assert self._started.wait(30), "the racing thread did not start"
        return self

    def join(self) -> Racer:
        self._thread.join(60)
        assert not self._thread.is_alive(), "the racing change never finished"
        return self


def wait_until_blocked(racer: Racer, timeout: float = 20.0) -> None:
    """Until the racer's session waits for a lock another session holds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT cardinality(pg_blocking_pids(%s))", [racer.pid])
            if cursor.fetchone()[0]:
                return
            if racer._done.is_set():
                raise AssertionError(
                    f"the racing change finished without waiting: {racer.error or racer.result!r}"
                )
            time.sleep(0.05)
    raise AssertionError("the racing change never waited for a lock")


@contextmanager
def short_lock_timeout():
    """A request's lock wait bounded as a web request's is, shorter still."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


@contextmanager
def second_connection(organization) -> Iterator[psycopg.Connection]:
    """Another session of the test database (the owner role's), in `organization`'s
    context."""
    with owner_connection() as other:
        other.execute(
            "SELECT set_config(%s, %s, false)", [ORGANIZATION_SETTING, str(organization.pk)]
        )
        yield other


def held_elsewhere(other: psycopg.Connection, table: str, pk) -> bool:
    """Whether another transaction holds `table`'s row `pk` against an edit (the row must
    exist). A foreign key's check of a row, which only keeps it from being deleted, does
    not count: an edit takes the same lock as an UPDATE of its columns."""
    try:
        with other.transaction():
            statement = f"SELECT id FROM {table} WHERE id = %s FOR NO KEY UPDATE NOWAIT"
            rows = other.execute(statement, [pk])
            assert rows.fetchall(), f"{table} {pk} is not visible to the second connection"
    except psycopg.errors.LockNotAvailable:
        return True
    return False


def real_deadlock() -> OperationalError:
    """The error the database raises in a session that loses a deadlock, as Django
    raises it: two sessions each hold a lock and then wait for the other's."""
    first, second = random.getrandbits(62), random.getrandbits(62)

    def other_session():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [second])
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [first])

    lost = None
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [first])
            racer = Racer(other_session).start()
            wait_until_blocked(racer)
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [second])
    except OperationalError as exc:
        lost = exc
    racer.join()
    lost = lost or racer.error
    assert isinstance(lost, OperationalError) and "deadlock" in str(lost), lost
    return lost
