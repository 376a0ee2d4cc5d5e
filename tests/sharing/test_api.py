"""A record's shares in the API: GET/POST …/{id}/shares/ and DELETE …/{id}/shares/{user}/
on leads and opportunities. Another organization gets 404 and is no grantee; a user who
may not share gets 403 with nothing written; the grantee then reads the shared record,
and only it, until the share is taken back."""

from __future__ import annotations

import uuid

import pytest

from compliance import services as compliance_services
from sharing.services import BEYOND_THEIR_ROLE, NO_SUCH_MEMBER, record_share
from smartweb.rbac import Resource
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import audit_actions
from tests.factories import api_client, make_member
from tests.sharing.conftest import build_record, grant_rows

pytestmark = pytest.mark.django_db


def _url(record, resource: str, user=None) -> str:
    base = f"/api/v1/{resource}/{record.pk}/shares/"
    return f"{base}{user.pk}/" if user is not None else base


def _detail(record, resource: str) -> str:
    return f"/api/v1/{resource}/{record.pk}/"


def _listed(client, resource: str) -> set[str]:
    response = client.get(f"/api/v1/{resource}/")
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_share_list_and_take_back(org_a, resource, record_a, admin_a, rep_a, rep_a2):
    other = build_record(resource, org_a, rep_a)
    admin, grantee = api_client(admin_a, org_a), api_client(rep_a2, org_a)
    assert grantee.get(_detail(record_a, resource)).status_code == 404

    created = admin.post(_url(record_a, resource), {"user": str(rep_a2.pk)}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json() == {
        "user": {"id": str(rep_a2.pk), "email": rep_a2.email, "full_name": rep_a2.full_name},
        "name": rep_a2.full_name,
        "access": "read",
    }
    again = admin.post(_url(record_a, resource), {"user": str(rep_a2.pk)}, format="json")
    assert (again.status_code, again.json()) == (200, created.json())
    assert len(grant_rows(org_a, record_a)) == 1
    assert admin.get(_url(record_a, resource)).json() == [created.json()]

    # The grantee reads the shared record, and only it; editing it is not theirs.
    assert _listed(grantee, resource) == {str(record_a.pk)}
    assert str(other.pk) not in _listed(grantee, resource)
    assert grantee.get(_detail(record_a, resource)).status_code == 200
    assert grantee.get(_detail(other, resource)).status_code == 404
    edit = grantee.patch(_detail(record_a, resource), {"notes": "mine now"}, format="json")
    assert edit.status_code == 403

    assert admin.delete(_url(record_a, resource, rep_a2)).status_code == 204
    assert grantee.get(_detail(record_a, resource)).status_code == 404
    assert _listed(grantee, resource) == set()
    assert admin.get(_url(record_a, resource)).json() == []
    assert admin.delete(_url(record_a, resource, rep_a2)).status_code == 404
    assert audit_actions(org_a, target_id=str(record_a.pk), action__startswith="object.") == [
        "object.granted",
        "object.revoked",
    ]


def test_share_rows_name_colleagues_as_the_back_office_does(org_a, resource, record_a, rep_a):
    """By name, the email beside a name two members share or in place of none; the user's
    own fields stay as they were."""
    sam = make_member(org_a, "sales_rep", full_name="Sam Patel", email="sam.p@example.test")
    make_member(org_a, "sales_rep", full_name="Sam Patel", email="sam@example.test")
    nameless = make_member(org_a, "sales_rep", full_name="", email="no.name@example.test")
    owner = api_client(rep_a, org_a)
    posted = owner.post(_url(record_a, resource), {"user": str(sam.pk)}, format="json")
    assert posted.status_code == 201, posted.json()
    assert posted.json()["name"] == f"Sam Patel ({sam.email})"
    owner.post(_url(record_a, resource), {"user": str(nameless.pk)}, format="json")

    listed = owner.get(_url(record_a, resource)).json()
    assert [(row["user"]["email"], row["user"]["full_name"], row["name"]) for row in listed] == [
        (nameless.email, "", nameless.email),
        (sam.email, "Sam Patel", f"Sam Patel ({sam.email})"),
    ]


def test_an_update_share_lets_the_grantee_edit(org_a, resource, record_a, rep_a, rep_a2):
    owner, grantee = api_client(rep_a, org_a), api_client(rep_a2, org_a)
    body = {"user": str(rep_a2.pk), "access": "update"}
    assert owner.post(_url(record_a, resource), body, format="json").status_code == 201
    field = "notes" if resource == Resource.LEADS else "name"
    edited = grantee.patch(
        _detail(record_a, resource), {field: "Edited by a colleague"}, format="json"
    )
    assert edited.status_code == 200, edited.json()
    assert edited.json()[field] == "Edited by a colleague"


def test_another_organization_gets_404_and_is_no_grantee(
    org_a, org_b, resource, record_a, admin_a, admin_b, rep_a2
):
    outsider = api_client(admin_b, org_b)
    assert outsider.get(_url(record_a, resource)).status_code == 404
    posted = outsider.post(_url(record_a, resource), {"user": str(admin_b.pk)}, format="json")
    assert posted.status_code == 404
    with tenant_context(org_a):
        record_share(record=record_a, user=rep_a2, access_level="read", acting_user=None)
    assert outsider.delete(_url(record_a, resource, rep_a2)).status_code == 404
    assert len(grant_rows(org_a, record_a)) == 1

    # Named as the grantee, another organization's user is an id nobody has.
    admin = api_client(admin_a, org_a)
    foreign = admin.post(_url(record_a, resource), {"user": str(admin_b.pk)}, format="json")
    unknown = admin.post(_url(record_a, resource), {"user": str(uuid.uuid4())}, format="json")
    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json() == unknown.json()
    assert foreign.json()["error"]["details"] == {"user": [NO_SUCH_MEMBER]}
    assert len(grant_rows(org_a, record_a)) == 1


def test_a_read_only_user_gets_403_and_nothing_is_written(
    org_a, resource, record_a, readonly_a, rep_a2
):
    client = api_client(readonly_a, org_a)
    assert client.get(_url(record_a, resource)).status_code == 200
    posted = client.post(_url(record_a, resource), {"user": str(rep_a2.pk)}, format="json")
    assert posted.status_code == 403
    assert posted.json()["error"]["code"] == "permission_denied"
    assert grant_rows(org_a, record_a) == []


def test_who_may_not_share_gets_403_whatever_the_body(
    org_a, resource, record_a, readonly_a, rep_a2
):
    """The right to share is checked before the body: no 400 tells them what to send."""
    client = api_client(readonly_a, org_a)
    for body in [{}, {"user": "not-an-id"}, {"user": str(rep_a2.pk), "access": "delete"}]:
        posted = client.post(_url(record_a, resource), body, format="json")
        assert posted.status_code == 403, body
        assert posted.json()["error"]["code"] == "permission_denied"
    assert client.delete(_url(record_a, resource, rep_a2)).status_code == 403
    assert grant_rows(org_a, record_a) == []


def test_a_rep_outside_the_records_scope_gets_404_or_403_with_a_share_to_read(
    org_a, resource, record_a, admin_a, rep_a2, readonly_a
):
    """Out of their reach the record is a 404; shared with them to read, it is theirs to
    read but not to share (403), nor to take shares from."""
    client = api_client(rep_a2, org_a)
    body = {"user": str(readonly_a.pk)}
    assert client.post(_url(record_a, resource), body, format="json").status_code == 404
    admin = api_client(admin_a, org_a)
    admin.post(_url(record_a, resource), {"user": str(rep_a2.pk)}, format="json")

    assert client.post(_url(record_a, resource), body, format="json").status_code == 403
    assert client.delete(_url(record_a, resource, rep_a2)).status_code == 403
    assert [email for email, _ in grant_rows(org_a, record_a)] == [rep_a2.email]


def test_a_rep_with_an_update_share_may_not_share_it_on(
    org_a, resource, record_a, admin_a, rep_a2, readonly_a
):
    body = {"user": str(rep_a2.pk), "access": "update"}
    api_client(admin_a, org_a).post(_url(record_a, resource), body, format="json")
    client = api_client(rep_a2, org_a)
    posted = client.post(_url(record_a, resource), {"user": str(readonly_a.pk)}, format="json")
    assert posted.status_code == 403
    assert [email for email, _ in grant_rows(org_a, record_a)] == [rep_a2.email] * 2


def test_who_may_only_read_a_record_shares_it_for_reading_only(
    org_a, resource, record_a, reader_a, rep_a2
):
    client = api_client(reader_a, org_a)
    body = {"user": str(rep_a2.pk), "access": "update"}
    refused = client.post(_url(record_a, resource), body, format="json")
    assert refused.status_code == 403, refused.json()
    assert grant_rows(org_a, record_a) == []
    body["access"] = "read"
    assert client.post(_url(record_a, resource), body, format="json").status_code == 201


def test_a_read_only_member_is_shared_a_record_for_viewing_only(
    org_a, resource, record_a, rep_a, readonly_a
):
    """A share widens which records a colleague reaches, not what their role does: the
    Read Only member, who edits nothing, is not made an editor of a rep's record."""
    owner, viewer = api_client(rep_a, org_a), api_client(readonly_a, org_a)
    body = {"user": str(readonly_a.pk), "access": "update"}
    refused = owner.post(_url(record_a, resource), body, format="json")
    assert refused.status_code == 400, refused.json()
    assert refused.json()["error"]["details"] == {"access": [BEYOND_THEIR_ROLE]}
    assert grant_rows(org_a, record_a) == []
    field = "notes" if resource == Resource.LEADS else "name"
    edit = viewer.patch(_detail(record_a, resource), {field: "Edited"}, format="json")
    assert edit.status_code == 403

    body["access"] = "read"
    assert owner.post(_url(record_a, resource), body, format="json").status_code == 201


def test_bad_input_is_a_400_naming_the_field(org_a, resource, record_a, admin_a, rep_a2):
    client = api_client(admin_a, org_a)
    for body, field in [
        ({}, "user"),
        ({"user": "not-an-id"}, "user"),
        ({"user": str(admin_a.pk)}, "user"),  # themselves
        ({"user": str(rep_a2.pk), "access": "delete"}, "access"),
    ]:
        response = client.post(_url(record_a, resource), body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()["error"]["details"]) == [field], body
    assert grant_rows(org_a, record_a) == []


def test_taking_back_a_share_of_an_id_that_is_no_uuid_is_a_404(org_a, resource, record_a, admin_a):
    client = api_client(admin_a, org_a)
    base = _url(record_a, resource)
    nobody = client.delete(f"{base}{uuid.uuid4()}/")
    malformed = client.delete(f"{base}{'0' * 35}-/")  # the path's alphabet, no UUID
    assert (malformed.status_code, malformed.json()) == (404, nobody.json())
    assert nobody.status_code == 404


def test_an_erased_persons_record_is_409(org_a, resource, record_a, admin_a, rep_a2):
    with tenant_context(org_a):
        lead = record_a if resource == Resource.LEADS else record_a.lead
        compliance_services.erase_subject(lead=lead, acting_user=None)
    client = api_client(admin_a, org_a)
    response = client.post(_url(record_a, resource), {"user": str(rep_a2.pk)}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "erased"
    assert grant_rows(org_a, record_a) == []
