"""A share and its taking back racing each other (real sessions, committed): the one that
waits reads what the first wrote, so a colleague ends with a whole share or none, and a
share taken back twice at once is taken back (and audited) once."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts.audit import AuditAction
from sharing.choices import ShareAccess
from sharing.services import record_share, record_unshare
from tests.accounts.conftest import audit_rows
from tests.concurrency import Racer, wait_until_blocked
from tests.factories import acting_as
from tests.sharing.conftest import grant_rows

pytestmark = pytest.mark.django_db(transaction=True)


def _share(record, user, organization, *, by, level=ShareAccess.READ):
    with acting_as(by, organization):
        return record_share(record=record, user=user, access_level=level, acting_user=by)


def _unshare(record, user, organization, *, by) -> bool:
    with acting_as(by, organization):
        return record_unshare(record=record, user=user, acting_user=by)


def _unshare_racing(record, user, organization, *, by) -> Racer:
    """The taking back, in a session of its own, once it waits for the first writer."""
    racer = Racer(lambda: _unshare(record, user, organization, by=by)).start()
    wait_until_blocked(racer)
    return racer


def test_a_share_taken_back_while_it_is_raised_to_editing_is_taken_back_whole(
    org_a, record_a, admin_a, rep_a2
):
    _share(record_a, rep_a2, org_a, by=admin_a)
    with acting_as(admin_a, org_a), transaction.atomic():
        record_share(
            record=record_a, user=rep_a2, access_level=ShareAccess.UPDATE, acting_user=admin_a
        )
        taking_back = _unshare_racing(record_a, rep_a2, org_a, by=admin_a)
    taking_back.join()
    assert taking_back.error is None, taking_back.error
    assert taking_back.result is True
    # Not an edit grant left without the view grant it goes with.
    assert [user for user, _ in grant_rows(org_a, record_a)] == []


def test_a_share_taken_back_twice_at_once_is_taken_back_once(org_a, record_a, admin_a, rep_a2):
    _share(record_a, rep_a2, org_a, by=admin_a)
    with acting_as(admin_a, org_a), transaction.atomic():
        assert record_unshare(record=record_a, user=rep_a2, acting_user=admin_a) is True
        second = _unshare_racing(record_a, rep_a2, org_a, by=admin_a)
    second.join()
    assert second.error is None, second.error
    assert second.result is False
    assert grant_rows(org_a, record_a) == []
    assert len(audit_rows(org_a, action=AuditAction.OBJECT_REVOKED)) == 1
