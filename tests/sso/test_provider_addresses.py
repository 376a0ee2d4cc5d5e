"""The identity provider's URLs are an organization admin's choice, and anyone can make
the server call them (`/sso/<slug>/start/`): a discovery URL leading inside is refused
when saved, and every call the sign-in makes (discovery, token endpoint, keys) connects
to public addresses only, whatever the name resolves to by then and whatever the
discovery document names."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.audit import AuditAction
from smartweb.tenancy.context import tenant_context
from sso.models import IdentityProvider
from tests.accounts.conftest import admin_client, audit_rows
from tests.factories import make_organization, org_admin
from tests.html_forms import form_data
from tests.internal_addresses import EMBEDDED_INTERNAL, resolve
from tests.sso.conftest import configure
from tests.sso.stub_provider import DISCOVERY

ADD = "/admin/sso/identityprovider/add/"
NOT_PUBLIC = "not at a public address"


def _refusals(organization) -> list[str]:
    return [
        row.details["reason"] for row in audit_rows(organization, action=AuditAction.SSO_REFUSED)
    ]


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1", *EMBEDDED_INTERNAL]
)
def test_a_discovery_url_leading_inside_is_a_form_error(db, settings, monkeypatch, address):
    settings.SSO_ALLOW_PRIVATE_ADDRESSES = False
    resolve(monkeypatch, "idp.example.test", address)
    organization = make_organization("Acme", slug="acme")
    client = admin_client(org_admin(organization))
    data = form_data(client.get(ADD).content.decode())
    host = f"[{address}]" if ":" in address else address
    for url in (f"https://{host}:8101{DISCOVERY}", f"https://idp.example.test{DISCOVERY}"):
        data.update(
            name=["Ours"], kind=["oidc"], discovery_url=[url], client_id=["c"], client_secret=["s"]
        )
        answer = client.post(ADD, data)
        assert answer.status_code == 200, url
        assert "which is not a public address" in answer.content.decode(), url
    with tenant_context(organization):
        assert not IdentityProvider.objects.exists()


def test_a_provider_whose_name_now_leads_inside_is_not_called(acme, stub, settings, monkeypatch):
    """Saved while its name was public (here: while allowed), called when it resolves to
    loopback (DNS rebinding): the start page refuses, and nothing reaches the address."""
    resolve(monkeypatch, "idp.example.test", "127.0.0.1")
    port = urlsplit(stub.url).port
    configure(acme, stub, discovery_url=f"http://idp.example.test:{port}{DISCOVERY}")
    settings.SSO_ALLOW_PRIVATE_ADDRESSES = False

    answer = Client().get("/sso/acme/start/")
    assert answer.status_code == 502
    assert NOT_PUBLIC in answer.content.decode()
    assert stub.requests == []


@pytest.mark.parametrize(
    ("served", "refused"),
    [(DISCOVERY, "/token"), ("/token", "/jwks")],
    ids=["token-endpoint", "keys"],
)
def test_the_urls_the_discovery_document_names_are_checked_too(
    acme, stub, settings, served, refused
):
    """The stub is on 127.0.0.1, which the test allows; once it has served `served`, the
    addresses are judged as in production, and the next URL it named is refused."""
    stub.documents["/token"] = {"access_token": "a", "token_type": "Bearer", "id_token": "x.y.z"}
    client = Client()
    start = client.get("/sso/acme/start/")
    assert start.status_code == 302, start.content[:500]
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    def production():
        settings.SSO_ALLOW_PRIVATE_ADDRESSES = False

    stub.before[served] = production
    answer = client.get("/sso/callback/", {"code": "c", "state": state})
    assert answer.status_code == 403
    assert NOT_PUBLIC in answer.content.decode()
    assert served in stub.requests and refused not in stub.requests
    assert _refusals(acme) == ["provider_address"]
