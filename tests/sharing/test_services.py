"""Sharing a lead or a deal (sharing.services): who may share what, with whom; one row
and one audit event per change; the grantee then reaches exactly the shared record."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services as account_services
from accounts.models import Membership, User
from compliance import services as compliance_services
from compliance.erased import LeadErased
from sharing.choices import ShareAccess
from sharing.selectors import shares_of
from sharing.services import NO_SUCH_MEMBER, record_share, record_unshare
from smartweb import access
from smartweb.rbac import Action
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import audit_rows
from tests.factories import acting_as
from tests.sharing.conftest import build_record, grant_rows

pytestmark = pytest.mark.django_db


def _share(record, user, organization, *, by, level=ShareAccess.READ):
    with acting_as(by, organization):
        return record_share(record=record, user=user, access_level=level, acting_user=by)


def _unshare(record, user, organization, *, by):
    with acting_as(by, organization):
        return record_unshare(record=record, user=user, acting_user=by)


def _sees(user, organization, resource, record) -> tuple[set, bool, bool]:
    """What `user` reads of the resource, and whether they may read and edit `record`,
    asked as a new request asks: answers are kept on the user and on the row."""
    model = type(record)
    user = User.objects.get(pk=user.pk)
    with acting_as(user, organization):
        record = model._default_manager.get(pk=record.pk)
        seen = set(
            access.visible(user, Action.READ, model.objects.all()).values_list("pk", flat=True)
        )
        return (
            seen,
            access.can(user, Action.READ, resource, obj=record),
            access.can(user, Action.UPDATE, resource, obj=record),
        )


def _shares(organization, record) -> list[tuple[str, str]]:
    with tenant_context(organization):
        return [(share.user.email, share.access) for share in shares_of(record)]


def test_a_read_share_lets_the_colleague_see_that_record_only(
    org_a, resource, record_a, admin_a, rep_a, rep_a2
):
    other = build_record(resource, org_a, rep_a)
    assert _sees(rep_a2, org_a, resource, record_a) == (set(), False, False)

    share, previous = _share(record_a, rep_a2, org_a, by=admin_a)

    assert (share.user, share.access, previous) == (rep_a2, ShareAccess.READ, None)
    assert _sees(rep_a2, org_a, resource, record_a) == ({record_a.pk}, True, False)
    assert other.pk not in _sees(rep_a2, org_a, resource, other)[0]
    assert _shares(org_a, record_a) == [(rep_a2.email, "read")]
    (event,) = audit_rows(org_a, action="object.granted")
    assert (event.actor, event.target_id) == (admin_a, str(record_a.pk))
    assert event.details == {
        "user": rep_a2.email,
        "user_id": str(rep_a2.pk),
        "access": "read",
        "previous": None,
    }


def test_sharing_twice_writes_one_row_and_one_event(org_a, record_a, admin_a, rep_a2):
    _share(record_a, rep_a2, org_a, by=admin_a)
    _, previous = _share(record_a, rep_a2, org_a, by=admin_a)

    assert previous == ShareAccess.READ
    assert len(grant_rows(org_a, record_a)) == 1
    assert len(audit_rows(org_a, action="object.granted")) == 1


def test_an_update_share_edits_and_a_lower_level_takes_editing_back(
    org_a, resource, record_a, admin_a, rep_a2
):
    _share(record_a, rep_a2, org_a, by=admin_a, level=ShareAccess.UPDATE)
    assert _sees(rep_a2, org_a, resource, record_a) == ({record_a.pk}, True, True)
    assert [codename.split("_")[0] for _, codename in grant_rows(org_a, record_a)] == [
        "change",
        "view",
    ]

    _, previous = _share(record_a, rep_a2, org_a, by=admin_a, level=ShareAccess.READ)

    assert previous == ShareAccess.UPDATE
    assert _sees(rep_a2, org_a, resource, record_a) == ({record_a.pk}, True, False)
    assert _shares(org_a, record_a) == [(rep_a2.email, "read")]
    levels = [row.details["access"] for row in audit_rows(org_a, action="object.granted")]
    assert levels == ["update", "read"]


def test_unsharing_takes_the_access_back_and_is_audited(org_a, resource, record_a, admin_a, rep_a2):
    _share(record_a, rep_a2, org_a, by=admin_a, level=ShareAccess.UPDATE)

    assert _unshare(record_a, rep_a2, org_a, by=admin_a) is True

    assert _sees(rep_a2, org_a, resource, record_a) == (set(), False, False)
    assert grant_rows(org_a, record_a) == []
    (event,) = audit_rows(org_a, action="object.revoked")
    assert event.actor == admin_a
    assert event.details == {"user": rep_a2.email, "user_id": str(rep_a2.pk), "access": "update"}
    assert _unshare(record_a, rep_a2, org_a, by=admin_a) is False
    assert len(audit_rows(org_a, action="object.revoked")) == 1


def test_a_rep_shares_their_own_record_for_editing(org_a, resource, record_a, rep_a, rep_a2):
    _share(record_a, rep_a2, org_a, by=rep_a, level=ShareAccess.UPDATE)
    assert _sees(rep_a2, org_a, resource, record_a)[1:] == (True, True)


def _refused(exc_type, record, organization, user, *, by, level=ShareAccess.READ):
    before = grant_rows(organization, record), audit_rows(organization)
    with pytest.raises(exc_type) as refused:
        _share(record, user, organization, by=by, level=level)
    assert (grant_rows(organization, record), audit_rows(organization)) == before
    return refused.value


def test_a_read_only_user_shares_nothing(org_a, record_a, readonly_a, rep_a2):
    _refused(PermissionDenied, record_a, org_a, rep_a2, by=readonly_a)


def test_a_rep_outside_the_records_scope_shares_nothing(org_a, record_a, rep_a2, manager_a):
    _refused(PermissionDenied, record_a, org_a, manager_a, by=rep_a2)


def test_nobody_shares_more_than_their_role_gives(org_a, record_a, reader_a, rep_a2):
    """reader_a reads every record but edits only their own: they share rep_a's record
    for viewing, not for editing."""
    _refused(PermissionDenied, record_a, org_a, rep_a2, by=reader_a, level=ShareAccess.UPDATE)
    share, _ = _share(record_a, rep_a2, org_a, by=reader_a)
    assert share.access == ShareAccess.READ


def test_a_share_is_not_passed_along(org_a, record_a, admin_a, rep_a2, readonly_a):
    """Editing by a share is no right to share: taking a share back takes everything it
    gave."""
    _share(record_a, rep_a2, org_a, by=admin_a, level=ShareAccess.UPDATE)
    _refused(PermissionDenied, record_a, org_a, readonly_a, by=rep_a2)
    with pytest.raises(PermissionDenied):
        _unshare(record_a, rep_a2, org_a, by=rep_a2)


def test_another_organizations_user_is_no_member_as_an_unknown_id_is(
    org_a, org_b, admin_b, record_a, admin_a
):
    foreign = _refused(ValidationError, record_a, org_a, admin_b, by=admin_a)
    unknown = _refused(ValidationError, record_a, org_a, uuid.uuid4(), by=admin_a)
    assert foreign.message_dict == unknown.message_dict == {"user": [NO_SUCH_MEMBER]}


def test_a_former_member_is_no_member(org_a, record_a, admin_a, rep_a2):
    with tenant_context(org_a):
        rep_a2.memberships.filter(organization=org_a).update(is_active=False)
    refused = _refused(ValidationError, record_a, org_a, rep_a2, by=admin_a)
    assert refused.message_dict == {"user": [NO_SUCH_MEMBER]}


def test_a_removed_members_shares_end_with_the_membership(
    org_a, resource, record_a, admin_a, rep_a2
):
    _share(record_a, rep_a2, org_a, by=admin_a, level=ShareAccess.UPDATE)
    with acting_as(admin_a, org_a):
        membership = Membership.objects.get(user=rep_a2)
        account_services.membership_delete(membership=membership, acting_user=admin_a)
        # Back in the organization (the same row restored): without the old shares.
        Membership.all_objects.get(pk=membership.pk).restore()

    assert grant_rows(org_a, record_a) == []
    assert _sees(rep_a2, org_a, resource, record_a) == (set(), False, False)
    (event,) = audit_rows(org_a, action="membership.deleted")
    assert event.details["share_grants_ended"] == 2


def test_nobody_shares_with_themselves(org_a, record_a, rep_a):
    refused = _refused(ValidationError, record_a, org_a, rep_a, by=rep_a)
    assert refused.message_dict == {"user": ["You cannot share a record with yourself."]}


def test_a_level_that_does_not_exist_is_refused(org_a, record_a, admin_a, rep_a2):
    refused = _refused(ValidationError, record_a, org_a, rep_a2, by=admin_a, level="delete")
    assert list(refused.message_dict) == ["access"]


def test_an_erased_persons_record_is_not_shared_but_a_share_is_taken_back(
    org_a, resource, record_a, admin_a, rep_a2
):
    _share(record_a, rep_a2, org_a, by=admin_a)
    with tenant_context(org_a, user=admin_a):
        lead = record_a if resource == "leads" else record_a.lead
        compliance_services.erase_subject(lead=lead, acting_user=None)

    _refused(LeadErased, record_a, org_a, rep_a2, by=admin_a, level=ShareAccess.UPDATE)
    assert _unshare(record_a, rep_a2, org_a, by=admin_a) is True
