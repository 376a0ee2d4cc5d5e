"""A record's shares on its admin page (lead and deal): listed, with "Share with a
colleague" and "Stop sharing", for whoever may share it and nobody else; the share form
offers the organization's members alone and the levels the user may give; another
organization's user gets 404 from every share page, a user who may not share 403."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sharing.services import record_share
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import audit_actions
from tests.factories import make_member
from tests.sharing.conftest import grant_rows

pytestmark = pytest.mark.django_db


def _name(record, view: str) -> str:
    return f"admin:{record._meta.app_label}_{record._meta.model_name}_{view}"


def _change(record) -> str:
    return reverse(_name(record, "change"), args=[record.pk])


def _share_page(record) -> str:
    return reverse(_name(record, "step"), args=[record.pk, "share"])


def _unshare(record, user) -> str:
    return reverse(_name(record, "unshare"), args=[record.pk, user.pk])


def _page(client, record) -> str:
    response = client.get(_change(record))
    assert response.status_code == 200
    return response.content.decode()


def _options(body: str, name: str) -> set[str]:
    select = re.search(rf'<select name="{name}".*?</select>', body, re.S).group(0)
    return set(re.findall(r'<option value="([^"]+)"', select))


def _share_as_system(organization, record, user, level="read"):
    with tenant_context(organization):
        record_share(record=record, user=user, access_level=level, acting_user=None)


def test_share_from_the_page_and_stop_sharing(client, org_a, record_a, rep_a, rep_a2):
    client.force_login(rep_a)
    body = _page(client, record_a)
    assert 'id="shares"' in body and "Not shared" in body
    assert f'href="{_share_page(record_a)}"' in body

    form = client.get(_share_page(record_a)).content.decode()
    posted = client.post(_share_page(record_a), {"user": str(rep_a2.pk), "access": "update"})
    assert posted.status_code == 302, posted.content.decode()
    assert sorted(codename.split("_")[0] for _, codename in grant_rows(org_a, record_a)) == [
        "change",
        "view",
    ]
    assert "Shared." in [m.message for m in posted.wsgi_request._messages]
    assert rep_a.email not in _options(form, "user")  # not themselves

    body = _page(client, record_a)
    assert rep_a2.email in body and "Can view and edit" in body
    removed = client.post(_unshare(record_a, rep_a2))
    assert removed.status_code == 302 and removed["Location"].endswith("#shares")
    assert grant_rows(org_a, record_a) == []
    assert audit_actions(org_a, target_id=str(record_a.pk), action__startswith="object.") == [
        "object.granted",
        "object.revoked",
    ]


def test_the_form_offers_the_organizations_members_only(
    client, org_a, org_b, admin_b, record_a, admin_a, rep_a2
):
    former = make_member(org_a, "sales_rep")
    with tenant_context(org_a):
        former.memberships.update(is_active=False)
    client.force_login(admin_a)
    offered = _options(client.get(_share_page(record_a)).content.decode(), "user")
    assert str(rep_a2.pk) in offered
    assert {str(admin_a.pk), str(admin_b.pk), str(former.pk)}.isdisjoint(offered)

    refused = client.post(_share_page(record_a), {"user": str(admin_b.pk), "access": "read"})
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert grant_rows(org_a, record_a) == []


def test_who_may_only_read_a_record_is_offered_viewing_only(client, org_a, record_a, reader_a):
    client.force_login(reader_a)
    assert _options(client.get(_share_page(record_a)).content.decode(), "access") == {"read"}


def test_a_share_the_user_could_not_give_is_listed_without_stop_sharing(
    client, org_a, record_a, reader_a, rep_a2
):
    """reader_a may share a colleague's record for viewing, not for editing: of its two
    shares, only the viewing one offers "Stop sharing"; the other, posted anyway, is
    refused and kept."""
    viewer = make_member(org_a, "sales_rep")
    _share_as_system(org_a, record_a, viewer, level="read")
    _share_as_system(org_a, record_a, rep_a2, level="update")
    client.force_login(reader_a)
    body = _page(client, record_a)
    assert rep_a2.email in body and "Can view and edit" in body
    assert f'action="{_unshare(record_a, viewer)}"' in body
    assert _unshare(record_a, rep_a2) not in body
    assert client.post(_unshare(record_a, rep_a2)).status_code == 403
    assert rep_a2.email in [email for email, _ in grant_rows(org_a, record_a)]


def test_a_read_only_user_sees_no_shares_and_gets_403(client, org_a, record_a, readonly_a, rep_a2):
    _share_as_system(org_a, record_a, rep_a2)
    client.force_login(readonly_a)
    body = _page(client, record_a)
    assert 'id="shares"' not in body and rep_a2.email not in body
    assert client.get(_share_page(record_a)).status_code == 403
    posted = client.post(_share_page(record_a), {"user": str(readonly_a.pk), "access": "read"})
    assert posted.status_code == 403
    assert client.post(_unshare(record_a, rep_a2)).status_code == 403
    assert [email for email, _ in grant_rows(org_a, record_a)] == [rep_a2.email]


def test_a_grantee_may_not_share_on(client, org_a, record_a, rep_a2, readonly_a):
    _share_as_system(org_a, record_a, rep_a2, level="update")
    client.force_login(rep_a2)
    assert 'id="shares"' not in _page(client, record_a)
    assert client.get(_share_page(record_a)).status_code == 403
    assert client.post(_unshare(record_a, rep_a2)).status_code == 403


def test_another_organization_gets_404_from_every_share_page(
    client, org_a, admin_b, record_a, rep_a2
):
    _share_as_system(org_a, record_a, rep_a2)
    client.force_login(admin_b)
    assert client.get(_share_page(record_a)).status_code == 404
    assert client.post(_share_page(record_a), {"user": str(admin_b.pk)}).status_code == 404
    assert client.post(_unshare(record_a, rep_a2)).status_code == 404
    assert [email for email, _ in grant_rows(org_a, record_a)] == [rep_a2.email]
