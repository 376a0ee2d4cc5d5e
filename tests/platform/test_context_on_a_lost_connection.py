"""A connection lost inside an organization's block (the server restarted, the session
was ended) is an outage the request answers with 503, not an error of the program (500):
the driver's error itself, and a database error the clean-up after it raises in its
place."""

from __future__ import annotations

import pytest
from django.db import OperationalError, ProgrammingError, connection, transaction
from django.db.transaction import TransactionManagementError

from smartweb import outage
from smartweb.tenancy import context
from tests import factories


def _lose_the_connection() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_in_a_savepoint_is_raised_as_an_outage():
    organization = factories.make_organization("Lost Connection Sites")
    try:
        # Inside, a service's own savepoint: rolling back to it fails too, which leaves
        # the organization's block marked for rollback.
        with (
            pytest.raises(OperationalError) as raised,
            context.tenant_context(organization),
            transaction.atomic(),
        ):
            _lose_the_connection()
        assert outage.is_outage(raised.value)
        assert context.current_organization_id() is None
    finally:
        connection.close()
    # A new connection works as before.
    with context.tenant_context(organization):
        assert context.current_organization_id() == organization.pk


def _raised(clean_up_error: Exception, lost: Exception) -> Exception:
    try:
        try:
            raise lost
        except OperationalError:
            raise clean_up_error  # noqa: B904 - raised in its place, as a clean-up does
    except Exception as exc:  # noqa: BLE001 - the error under test
        return exc


def test_a_database_error_of_the_clean_up_after_a_lost_connection_is_an_outage():
    lost = OperationalError("terminating connection due to administrator command")
    broken = TransactionManagementError("An error occurred in the current transaction.")
    assert outage.is_outage(_raised(broken, lost))
    assert outage.is_outage(_raised(ProgrammingError("connection in status UNKNOWN"), lost))


def test_an_error_of_the_program_raised_meanwhile_stays_an_error_of_the_program():
    lost = OperationalError("terminating connection due to administrator command")
    assert not outage.is_outage(_raised(KeyError("missing"), lost))
    assert not outage.is_outage(TransactionManagementError("no outage before it"))
