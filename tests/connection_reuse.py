"""What a request leaves on the database connection it ran on: the checks of the
connection reuse tests (tests/security/test_connection_reuse.py, tests/pooler)."""

from django.db import connection


def backend_pid() -> int:
    """The server process behind the connection (the pooler's choice, through one)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def leftover_context() -> tuple:
    """The organization, the user and the leads visible outside any request: (None,
    None, 0) unless a context survived its transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT smartweb_current_organization_id(), smartweb_current_user_id(),"
            " (SELECT count(*) FROM leads_lead)"
        )
        return cursor.fetchone()


def seen_leads(client) -> set[str]:
    """The company names of the leads the client's organization lists."""
    response = client.get("/api/v1/leads/")
    assert response.status_code == 200, response.content
    return {
        row["company"]["name"] if isinstance(row["company"], dict) else row["company_name"]
        for row in response.json()["results"]
    }
