"""The identity provider in the admin: its organization's admins configure it (the
secret write-only and encrypted), others are refused, other organizations see nothing."""

from __future__ import annotations

from django.test import Client

from accounts import crypto
from accounts.audit import AuditAction
from smartweb.tenancy.context import tenant_context
from sso.models import IdentityProvider
from tests.accounts.conftest import admin_client, audit_rows
from tests.factories import make_member, make_organization, org_admin
from tests.html_forms import form_data
from tests.oidc_provider.server import CLIENT_SECRET

LIST = "/admin/sso/identityprovider/"


def _change(provider) -> str:
    return f"{LIST}{provider.pk}/change/"


def test_the_admin_saves_unchanged_and_the_secret_stays(place):
    client = admin_client(place.admin)
    page = client.get(_change(place.provider))
    assert page.status_code == 200
    assert CLIENT_SECRET not in page.content.decode()
    before = audit_rows(place.organization, action=AuditAction.SSO_PROVIDER_CHANGED)
    answer = client.post(_change(place.provider), form_data(page.content.decode()))
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    assert audit_rows(place.organization, action=AuditAction.SSO_PROVIDER_CHANGED) == before
    with tenant_context(place.organization):
        stored = IdentityProvider.objects.get()
    assert crypto.decrypt(stored.client_secret_encrypted) == CLIENT_SECRET


def test_the_admin_requires_sso_and_the_change_is_audited(place):
    client = admin_client(place.admin)
    data = form_data(client.get(_change(place.provider)).content.decode())
    data.update(sso_required=["on"], email_domains=["Example.test, @sub.example.test"])
    assert client.post(_change(place.provider), data).status_code == 302
    with tenant_context(place.organization):
        stored = IdentityProvider.objects.get()
    assert stored.sso_required and stored.email_domains == ["example.test", "sub.example.test"]
    row = audit_rows(place.organization, action=AuditAction.SSO_PROVIDER_CHANGED)[-1]
    assert row.details["fields"] == ["email_domains", "sso_required"]


def test_bad_input_is_a_form_error_and_nothing_is_written(place):
    client = admin_client(place.admin)
    data = form_data(client.get(_change(place.provider)).content.decode())
    data.update(discovery_url=["ftp://idp.example.test/"], email_domains=["not a domain"])
    answer = client.post(_change(place.provider), data)
    assert answer.status_code == 200
    with tenant_context(place.organization):
        assert IdentityProvider.objects.get().email_domains == ["example.test"]


def test_a_member_without_the_right_is_refused(place):
    rep = admin_client(place.ann)
    assert rep.get(_change(place.provider)).status_code == 403
    assert rep.post(_change(place.provider), {"name": "Mine"}).status_code == 403


def test_another_organization_sees_no_provider(place):
    other = make_organization("Other", slug="other")
    client = admin_client(org_admin(other))
    assert client.get(_change(place.provider)).status_code in (302, 404)
    assert place.provider.name not in client.get(LIST).content.decode()


def test_unauthenticated_is_sent_to_sign_in(place):
    assert Client().get(LIST).status_code == 302


def test_a_read_only_member_does_not_see_the_set_up(place):
    reader = admin_client(make_member(place.organization, "read_only"))
    assert reader.get(_change(place.provider)).status_code == 403
    assert reader.get(LIST).status_code == 403
