"""With persistent connections (CONN_MAX_AGE > 0), requests of two organizations
interleaved on the same database connection each see only their own organization, and
nothing of the context survives a request — not even one that failed half-way.

Runs outside the test transaction (transaction=True): inside it, a transaction-local
setting would survive the request's savepoint and could hide exactly this bug.
"""

import pytest
from django.conf import settings
from django.db import connection

from leads.models import Company, Lead
from smartweb.tenancy.context import tenant_context
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _leftover_context() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT smartweb_current_organization_id(), smartweb_current_user_id(),"
            " (SELECT count(*) FROM leads_lead)"
        )
        return cursor.fetchone()


@pytest.fixture
def two_tenants():
    tenants = []
    for name in ("Alpha Sites", "Beta Sites"):
        organization = factories.make_organization(name)
        admin = factories.org_admin(organization)
        with tenant_context(organization):
            names = {f"{name} lead {i}" for i in range(3)}
            for company_name in names:
                Lead.objects.create(company=Company.objects.create(name=company_name))
        tenants.append((factories.api_client(admin, organization), names))
    return tenants


def _seen(client) -> set[str]:
    response = client.get("/api/v1/leads/")
    assert response.status_code == 200, response.content
    return {
        row["company"]["name"] if isinstance(row["company"], dict) else row["company_name"]
        for row in response.json()["results"]
    }


def test_interleaved_requests_on_one_persistent_connection(two_tenants):
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    (client_a, names_a), (client_b, names_b) = two_tenants
    pid = _backend_pid()
    for _ in range(5):
        assert _seen(client_a) == names_a
        assert _leftover_context() == (None, None, 0)
        assert _seen(client_b) == names_b
        assert _leftover_context() == (None, None, 0)
    assert _backend_pid() == pid, "the connection was not reused: the test proves nothing"


def test_a_failed_request_leaves_no_context_behind(two_tenants):
    (client_a, _), (client_b, names_b) = two_tenants
    response = client_a.post("/api/v1/leads/", {"company": "not-a-uuid"}, format="json")
    assert response.status_code == 400
    assert _leftover_context() == (None, None, 0)
    assert _seen(client_b) == names_b
