"""The single sign-on tests: the application in the test process (Django's test client),
the identity provider a real server (tests.oidc_provider), signed in to with `requests`
as a browser would: its login form, its consent form, back to the callback. Answers the
real one never gives come from a stub (tests.sso.stub_provider)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from accounts.models import OAuthAccount
from smartweb.tenancy.context import tenant_context
from sso import services
from sso.models import IdentityProvider
from tests.factories import make_member, make_organization, org_admin
from tests.html_forms import form_data
from tests.oidc_provider.server import CLIENT_ID, CLIENT_SECRET, PASSWORD, identity_provider
from tests.sso.stub_provider import serve_stub_provider

CALLBACK = "http://testserver/sso/callback/"


@pytest.fixture(autouse=True)
def local_provider(settings):
    """The test providers are on 127.0.0.1, as in local development."""
    settings.SSO_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture(scope="package")
def idp(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), identity_provider([CALLBACK]) as running:
        yield running


@dataclass
class Place:
    """An organization with a provider, and its member ann@example.test."""

    organization: object
    provider: IdentityProvider
    ann: object
    admin: object


def configure(organization, idp, **changes) -> IdentityProvider:
    with tenant_context(organization):
        current = IdentityProvider.objects.first()
        return services.provider_save(
            provider=current,
            changes={
                "name": "Test provider",
                "kind": "oidc",
                "discovery_url": idp.discovery_url,
                "client_id": CLIENT_ID,
                "email_domains": ["example.test"],
                **changes,
            },
            client_secret="" if current else CLIENT_SECRET,
            acting_user=None,
        )


@pytest.fixture
def place(db, idp) -> Place:
    organization = make_organization("Acme", slug="acme")
    ann = make_member(organization, "sales_rep", email="ann@example.test")
    return Place(organization, configure(organization, idp), ann, org_admin(organization))


@pytest.fixture
def stub():
    with serve_stub_provider() as running:
        yield running


@pytest.fixture
def acme(db, stub):
    """Acme, its provider the stub (saved while local addresses are allowed)."""
    organization = make_organization("Acme", slug="acme")
    configure(organization, stub)
    return organization


def _tamper(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def provider_sign_in(authorize_url: str, email: str) -> str:
    """Sign in at the provider and consent, as a browser would; the callback URL the
    provider sends the browser back to."""
    browser = requests.Session()
    answer = browser.get(authorize_url, allow_redirects=True, timeout=30)
    assert "idp-login" in answer.text, answer.text[:500]
    fields = {k: v[0] for k, v in form_data(answer.text, "idp-login").items()}
    fields.update(username=email, password=PASSWORD)
    answer = browser.post(answer.url, data=fields, allow_redirects=True, timeout=30)
    assert "authorizationForm" in answer.text, answer.text[:500]
    fields = {k: v[0] for k, v in form_data(answer.text, "authorizationForm").items()}
    fields["allow"] = "Authorize"
    answer = browser.post(answer.url, data=fields, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def sso_sign_in(client, slug: str, email: str, *, tamper: str | None = None, extra=None):
    """The whole flow for `client` (Django's test client); the callback's response.
    `tamper`: "state" or "nonce", changed on its way through the browser; `extra`:
    parameters the provider adds to the callback."""
    return client.get(sso_callback(client, slug, email, tamper=tamper, extra=extra))


def sso_callback(client, slug: str, email: str, *, tamper: str | None = None, extra=None):
    """The flow for `client` up to the provider's answer: the path of the callback the
    browser is sent back to, not yet followed (see `sso_sign_in`)."""
    start = client.get(f"/sso/{slug}/start/")
    assert start.status_code == 302, start.content[:500]
    authorize_url = start["Location"]
    if tamper == "nonce":
        authorize_url = _tamper(authorize_url, "nonce", "forged-nonce")
    callback = provider_sign_in(authorize_url, email)
    assert callback.startswith(CALLBACK), callback
    if tamper == "state":
        callback = _tamper(callback, "state", "forged-state")
    for name, value in (extra or {}).items():
        callback = _tamper(callback, name, value)
    return callback.removeprefix("http://testserver")


def links(email: str) -> list[OAuthAccount]:
    return list(OAuthAccount.objects.filter(user__email=email))
