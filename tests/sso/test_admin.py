"""The identity provider in the admin: its organization's admins configure it (the
secret write-only and encrypted), others are refused, other organizations see nothing."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from accounts import crypto
from accounts import services as account_services
from accounts.audit import AuditAction
from smartweb.tenancy.context import tenant_context
from sso import services
from sso.models import IdentityProvider
from sso.services import PROVIDER_FIELDS
from tests.accounts.conftest import admin_client, audit_rows
from tests.factories import acting_as, make_member, make_organization, org_admin
from tests.html_forms import form_data
from tests.oidc_provider.server import CLIENT_SECRET
from tests.sso.conftest import configure

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


def test_a_second_provider_is_refused_in_words_and_nothing_is_written(place):
    """One provider per organization: the Add page's form, filled as the first one is,
    is shown again saying so (no form check holds this rule: the database does)."""
    client = admin_client(place.admin)
    data = form_data(client.get(f"{LIST}add/").content.decode())
    first = form_data(client.get(_change(place.provider)).content.decode())
    data.update({name: value for name, value in first.items() if name in PROVIDER_FIELDS})
    data.update(client_secret=["another-secret"], name=["Second"])
    before = audit_rows(place.organization, action=AuditAction.SSO_PROVIDER_CHANGED)

    answer = client.post(f"{LIST}add/", data)
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.non_field_errors()
    assert errors == ["Saving it would make two identity providers."]
    assert audit_rows(place.organization, action=AuditAction.SSO_PROVIDER_CHANGED) == before
    with tenant_context(place.organization):
        assert list(IdentityProvider.objects.values_list("pk", flat=True)) == [place.provider.pk]


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


def _provider_deletion_audited(place, sso_required: bool) -> None:
    rows = audit_rows(place.organization, action=AuditAction.SSO_PROVIDER_CHANGED)
    assert rows[-1].details == {"deleted": True, "sso_required": sso_required}
    assert rows[-1].actor_id == place.admin.pk
    with tenant_context(place.organization):
        assert not IdentityProvider.objects.exists()


def test_deleting_the_provider_is_audited(place):
    """Deleting the set-up ends "SSO required" for everyone it covered: it is a change of
    the set-up like any other, in the audit log."""
    with tenant_context(place.organization):  # required of Ann alone, not of the admin
        IdentityProvider.objects.update(
            sso_required=True, email_domains=[], required_emails=[place.ann.email]
        )
    client = admin_client(place.admin)
    answer = client.post(f"{LIST}{place.provider.pk}/delete/", {"post": "yes"}, follow=True)
    assert "was deleted successfully" in answer.content.decode()
    _provider_deletion_audited(place, sso_required=True)


def test_deleting_the_provider_from_the_list_is_audited(place):
    client = admin_client(place.admin)
    selected = {"action": "delete_selected", "_selected_action": [str(place.provider.pk)]}
    client.post(LIST, {**selected, "post": "yes"})
    _provider_deletion_audited(place, sso_required=False)


OUTAGE_HOST = "idp.outage.test"
OUTAGE_DISCOVERY = f"https://{OUTAGE_HOST}/.well-known/openid-configuration"


@pytest.fixture
def provider_out_of_reach(place, idp, settings, monkeypatch):
    """The provider set up at a public name that, during its outage, resolves to nothing."""
    configure(  # required of Ann alone, not of the admin
        place.organization,
        idp,
        discovery_url=OUTAGE_DISCOVERY,
        sso_required=True,
        email_domains=[],
        required_emails=[place.ann.email],
    )
    settings.SSO_ALLOW_PRIVATE_ADDRESSES = False
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host.endswith(".outage.test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with tenant_context(place.organization):
        return IdentityProvider.objects.get()


def test_the_set_up_is_saved_while_the_provider_is_out_of_reach(place, provider_out_of_reach):
    """Saved unchanged, nothing is written; "SSO required" is turned off (members may sign
    in with their passwords again); the provider is not asked for either."""
    client = admin_client(place.admin)
    before = audit_rows(place.organization, action=AuditAction.SSO_PROVIDER_CHANGED)
    data = form_data(client.get(_change(place.provider)).content.decode())
    answer = client.post(_change(place.provider), data)
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    assert audit_rows(place.organization, action=AuditAction.SSO_PROVIDER_CHANGED) == before
    with tenant_context(place.organization):
        assert IdentityProvider.objects.get().updated_at == provider_out_of_reach.updated_at

    data = form_data(client.get(_change(place.provider)).content.decode())
    data.pop("sso_required", None)
    assert client.post(_change(place.provider), data).status_code == 302
    with tenant_context(place.organization):
        assert not IdentityProvider.objects.get().sso_required
    row = audit_rows(place.organization, action=AuditAction.SSO_PROVIDER_CHANGED)[-1]
    assert row.details["fields"] == ["sso_required"]


@pytest.mark.parametrize(
    "change",
    [
        {"discovery_url": ["https://other.outage.test/.well-known/openid-configuration"]},
        {"client_id": ["another-client"]},
        {"client_secret": ["another-secret"]},
    ],
    ids=["discovery-url", "client-id", "client-secret"],
)
def test_a_change_of_how_the_provider_is_reached_is_still_checked(
    place, provider_out_of_reach, change
):
    client = admin_client(place.admin)
    data = form_data(client.get(_change(place.provider)).content.decode())
    answer = client.post(_change(place.provider), {**data, **change})
    assert answer.status_code == 200
    assert "does not resolve" in answer.content.decode()
    with tenant_context(place.organization):
        stored = IdentityProvider.objects.get()
    assert stored.updated_at == provider_out_of_reach.updated_at
    assert crypto.decrypt(stored.client_secret_encrypted) == CLIENT_SECRET


ORGANIZATIONS_ALL = {
    ("organizations", action): "all" for action in ("create", "read", "update", "delete")
}


def _member_of_role(place, name, grants):
    with tenant_context(place.organization):
        role = account_services.role_create(name=name, grants=grants)
    return make_member(place.organization, role.slug)


@pytest.mark.parametrize(
    "grants",
    [
        {("organizations", "create"): "all", ("organizations", "read"): "all"},
        {**ORGANIZATIONS_ALL, ("organizations", "update"): "team"},
        {**ORGANIZATIONS_ALL, ("organizations", "update"): "own"},
    ],
    ids=["create", "update-team", "update-own"],
)
def test_setting_up_the_provider_needs_the_update_of_the_whole_organization(place, grants):
    """The provider signs in as any member it covers: organizations:create, or an update
    short of the whole organization, opens none of its pages (403), and the services refuse
    it whoever calls them. Nothing is written."""
    member = _member_of_role(place, "Set-up helper", grants)
    client = admin_client(member)
    for url in (LIST, f"{LIST}add/", _change(place.provider)):
        assert client.get(url).status_code == 403, url
    data = {"name": "Mine", "kind": "google", "client_id": "mine", "client_secret": "mine"}
    assert client.post(f"{LIST}add/", data).status_code == 403
    assert client.post(f"{LIST}{place.provider.pk}/delete/", {"post": "yes"}).status_code == 403
    with acting_as(member, place.organization):
        provider = IdentityProvider.objects.get()
        with pytest.raises(PermissionDenied):
            services.provider_save(provider=provider, changes={"name": "Mine"}, acting_user=member)
        with pytest.raises(PermissionDenied):
            services.provider_delete(provider=provider, acting_user=member)
    with tenant_context(place.organization):
        assert list(IdentityProvider.objects.values_list("name", flat=True)) == ["Test provider"]


def test_the_update_of_the_whole_organization_sets_up_the_provider(place):
    member = _member_of_role(place, "Set-up lead", ORGANIZATIONS_ALL)
    client = admin_client(member)
    for url in (LIST, f"{LIST}add/", _change(place.provider)):
        assert client.get(url).status_code == 200, url
    data = form_data(client.get(_change(place.provider)).content.decode())
    data.update(name=["Renamed"])
    assert client.post(_change(place.provider), data).status_code == 302
    with tenant_context(place.organization):
        assert IdentityProvider.objects.get().name == "Renamed"
