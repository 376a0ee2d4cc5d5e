"""Through a transaction-mode PgBouncer with two server connections, eight clients,
each its own client connection, interleave requests of two organizations: every
request sees its own organization's leads and nothing else, and no server connection
carries an organization or a user from one transaction into the next, whoever used it
before. Outside any test transaction (see tests/security/test_connection_reuse.py)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.connection_reuse import backend_pid, leftover_context, seen_leads
from tests.pooler.fixtures import POOL_SIZE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("pooled_database")]
CLIENTS = 8
ROUNDS = 6


def _interleave(index: int, tenants) -> tuple[list[str], set[int]]:
    """A client's rounds, starting with organization A or B by turn; the leaks seen and
    the server connections it ran on."""
    leaks, server_pids = [], set()
    try:
        for round_ in range(ROUNDS):
            for client, names in tenants[(index + round_) % 2 :] + tenants[: (index + round_) % 2]:
                seen = seen_leads(client)
                if seen != names:
                    leaks.append(f"client {index} saw {sorted(seen)} instead of {sorted(names)}")
                leftover = leftover_context()
                if leftover != (None, None, 0):
                    leaks.append(f"client {index} found {leftover} after a request")
                server_pids.add(backend_pid())
        return leaks, server_pids
    finally:
        connection.close()


def test_interleaved_organizations_on_fewer_server_connections_than_clients(two_tenants):
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(_interleave, range(CLIENTS), [two_tenants] * CLIENTS))
    leaks = [leak for found, _ in results for leak in found]
    server_pids = set().union(*(pids for _, pids in results))
    assert leaks == []
    assert len(server_pids) <= POOL_SIZE, "more server connections than the pool holds"
    assert len(server_pids) > 1 or CLIENTS <= 1, "the clients did not share the pool's connections"


def test_a_process_a_test_starts_reaches_the_server_not_the_tests_pooler(pooled_database):
    """The default connection goes through the pooler; a process a test starts (a web
    server, a pooler of its own) gets the server's address. Chained behind this pooler, a
    test's own pooler would set its bounds on a server connection of this one, which the
    next transaction may not get (a 2 s bound came out as the default 5 s lock bound)."""
    from django.conf import settings

    from tests.servers import runtime_database_url

    assert settings.DATABASES["default"]["PORT"] == pooled_database.port
    assert f":{pooled_database.port}/" not in runtime_database_url()
