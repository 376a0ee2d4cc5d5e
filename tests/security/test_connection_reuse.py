"""With persistent connections (CONN_MAX_AGE > 0), requests of two organizations
interleaved on the same database connection each see only their own organization, and
nothing of the context survives a request — not even one that failed half-way.

Runs outside the test transaction (transaction=True): inside it, a transaction-local
setting would survive the request's savepoint and could hide exactly this bug.
"""

import pytest
from django.conf import settings

from tests.connection_reuse import backend_pid, leftover_context, seen_leads

pytestmark = pytest.mark.django_db(transaction=True)


def test_interleaved_requests_on_one_persistent_connection(two_tenants):
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    (client_a, names_a), (client_b, names_b) = two_tenants
    pid = backend_pid()
    for _ in range(5):
        assert seen_leads(client_a) == names_a
        assert leftover_context() == (None, None, 0)
        assert seen_leads(client_b) == names_b
        assert leftover_context() == (None, None, 0)
    assert backend_pid() == pid, "the connection was not reused: the test proves nothing"


def test_a_failed_request_leaves_no_context_behind(two_tenants):
    (client_a, _), (client_b, names_b) = two_tenants
    response = client_a.post("/api/v1/leads/", {"company": "not-a-uuid"}, format="json")
    assert response.status_code == 400
    assert leftover_context() == (None, None, 0)
    assert seen_leads(client_b) == names_b
