"""The OpenID Connect client (Authlib): the authorization-code flow with PKCE (S256)
and a nonce, the ID token checked against the provider's published keys (JWKS), its
issuer, audience, expiry and nonce.

Authlib keeps the state, the nonce and the PKCE verifier in the session between the two
legs; the callback refuses a state it did not issue.

The provider's URLs are chosen by an organization's admin, and its discovery document
names the others (token endpoint, keys): every call connects to public addresses only
(`smartweb.outbound`), the same guard as webhooks', unless SSO_ALLOW_PRIVATE_ADDRESSES.
"""

from __future__ import annotations

from contextlib import contextmanager

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.urls import reverse
from joserfc.errors import JoseError
from requests import RequestException

from accounts import crypto
from smartweb import outbound
from sso.models import IdentityProvider

SCOPE = "openid email profile"
# What the sign-in uses of the discovery document: Authlib fails on a missing endpoint
# with a RuntimeError, and without an issuer it would not check the ID token's.
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class SignInFailed(Exception):
    """The provider's answer is refused: `reason` for the audit log, `message` for the
    person."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def _no_id_token() -> SignInFailed:
    return SignInFailed("id_token", "The identity provider sent no ID token.")


class CheckedSession(OAuth2Session):
    """Authlib's HTTP session, connecting to public addresses only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        outbound.guard(self, allow_private=settings.SSO_ALLOW_PRIVATE_ADDRESSES)


class CheckedApp(DjangoOAuth2App):
    """Authlib's client through CheckedSession, refusing (SignInFailed) a provider's
    discovery document, keys or ID token that are not what they must be, where Authlib
    would fail with a RuntimeError or TypeError."""

    client_cls = CheckedSession

    def load_server_metadata(self) -> dict:
        try:
            document = super().load_server_metadata()
        except TypeError:  # Authlib stamps the document: a list or a string fails there
            document = {}
        missing = [
            name
            for name in REQUIRED_METADATA
            if not (isinstance(document.get(name), str) and document[name])
        ]
        if missing:
            raise SignInFailed(
                "provider_metadata",
                "The identity provider's discovery document lacks "
                f"{', '.join(missing)}: its set-up needs checking.",
            )
        return document

    def fetch_jwk_set(self, force=False):
        keys = super().fetch_jwk_set(force=force)
        if not (isinstance(keys, dict) and isinstance(keys.get("keys"), list)):
            raise SignInFailed(
                "provider_keys",
                "The identity provider's published keys are not a key set: its set-up "
                "needs checking.",
            )
        return keys

    def parse_id_token(self, token, *args, **kwargs):
        if not isinstance(token.get("id_token"), str):
            raise _no_id_token()
        return super().parse_id_token(token, *args, **kwargs)


@contextmanager
def calling_provider():
    """The provider's address refused, or the provider not reached, as SignInFailed."""
    try:
        yield
    except outbound.RefusedURL as exc:
        raise SignInFailed(
            "provider_address",
            "The identity provider is not at a public address: this server does not call it.",
        ) from exc
    except (RequestException, ValueError) as exc:
        raise SignInFailed(
            "provider_unreachable", "The identity provider cannot be reached; try again later."
        ) from exc


def client_name(provider: IdentityProvider) -> str:
    return f"idp{provider.pk.hex}"


def client(provider: IdentityProvider):
    """An Authlib client of `provider`; its metadata comes from the discovery URL."""
    registry = OAuth()
    return registry.register(
        name=client_name(provider),
        client_cls=CheckedApp,
        client_id=provider.client_id,
        client_secret=crypto.decrypt(provider.client_secret_encrypted),
        server_metadata_url=provider.metadata_url,
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "default_timeout": settings.SSO_HTTP_TIMEOUT_SECONDS,
        },
    )


def callback_url(request) -> str:
    return request.build_absolute_uri(reverse("sso-callback"))


def authorization_url(request, provider: IdentityProvider) -> tuple[str, str]:
    """The provider's authorization URL for this browser, and its state. The state,
    nonce and code verifier are kept in the session."""
    oidc = client(provider)
    redirect_uri = callback_url(request)
    with calling_provider():
        created = oidc.create_authorization_url(redirect_uri)
    oidc.save_authorize_data(request, redirect_uri=redirect_uri, **created)
    return created["url"], created["state"]


def finish(request, provider: IdentityProvider) -> dict:
    """The token response of the callback, with the checked ID token's claims under
    "userinfo". Raises SignInFailed."""
    oidc = client(provider)
    try:
        with calling_provider():
            token = oidc.authorize_access_token(request)
    except MismatchingStateError as exc:
        raise SignInFailed(
            "state", "The sign-in could not be verified (its state does not match): start again."
        ) from exc
    except JoseError as exc:
        reason = "nonce" if "nonce" in str(exc) else "id_token"
        raise SignInFailed(
            reason, f"The identity provider's answer could not be verified ({reason}): start again."
        ) from exc
    except AuthlibBaseError as exc:
        raise SignInFailed(
            "provider_error", f"The identity provider refused the sign-in ({exc.error})."
        ) from exc
    if not token.get("userinfo"):
        raise _no_id_token()
    return token


def refreshed(provider: IdentityProvider, refresh_token: str) -> dict:
    """New tokens for `refresh_token` from the provider's token endpoint (a provider that
    rotates refresh tokens sends a new one and retires the old). Raises SignInFailed."""
    oidc = client(provider)
    try:
        with calling_provider():
            token_endpoint = oidc.load_server_metadata()["token_endpoint"]
            with CheckedSession(
                provider.client_id,
                crypto.decrypt(provider.client_secret_encrypted),
                default_timeout=settings.SSO_HTTP_TIMEOUT_SECONDS,
            ) as session:
                return dict(session.refresh_token(token_endpoint, refresh_token=refresh_token))
    except AuthlibBaseError as exc:
        raise SignInFailed(
            "refresh", f"The identity provider refused the refresh ({exc.error})."
        ) from exc
