"""A provider that answers wrongly (a discovery document without what the sign-in needs,
a token or key set that is not one) is a refusal page on the public start and callback
pages, with its reason, never a server error."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from joserfc.jwk import RSAKey

from accounts.audit import AuditAction
from tests.accounts.conftest import audit_rows
from tests.sso.stub_provider import DISCOVERY

TOKEN = {"access_token": "a", "token_type": "Bearer", "id_token": "x.y.z"}


def _refusals(organization) -> list[str]:
    rows = audit_rows(organization, action=AuditAction.SSO_REFUSED)
    return [row.details["reason"] for row in rows]


def _started(client: Client) -> str:
    """The state of a started sign-in."""
    start = client.get("/sso/acme/start/")
    assert start.status_code == 302, start.content[:500]
    return parse_qs(urlsplit(start["Location"]).query)["state"][0]


@pytest.mark.parametrize(
    "document",
    [
        {"authorization_endpoint": None},
        {"authorization_endpoint": ""},
        {"token_endpoint": None},
        {"jwks_uri": None},
        {"issuer": None},
        ["not", "an", "object"],
    ],
    ids=["no-authorization", "empty-authorization", "no-token", "no-keys", "no-issuer", "list"],
)
def test_an_incomplete_discovery_document_is_refused_at_the_start(acme, stub, document):
    stub.documents[DISCOVERY] = (
        stub.discovery(**document) if isinstance(document, dict) else document
    )
    answer = Client().get("/sso/acme/start/")
    assert answer.status_code == 502
    assert "discovery document lacks" in answer.content.decode()


@pytest.mark.parametrize("lacking", ["token_endpoint", "jwks_uri", "issuer"])
def test_a_discovery_document_changed_between_start_and_callback_is_refused(acme, stub, lacking):
    stub.documents["/token"] = TOKEN
    client = Client()
    state = _started(client)
    stub.documents[DISCOVERY] = stub.discovery(**{lacking: None})
    answer = client.get("/sso/callback/", {"code": "c", "state": state})
    assert answer.status_code == 403
    assert f"discovery document lacks {lacking}" in answer.content.decode()
    assert "/token" not in stub.requests and "/jwks" not in stub.requests
    assert _refusals(acme) == ["provider_metadata"]


@pytest.mark.parametrize(
    ("path", "document", "reason"),
    [
        ("/token", ["not", "a", "token"], "provider_unreachable"),
        ("/token", {"access_token": "a", "token_type": "Bearer"}, "id_token"),
        ("/token", {**TOKEN, "id_token": None}, "id_token"),
        ("/token", {**TOKEN, "id_token": {"sub": "ann"}}, "id_token"),
        ("/jwks", {"keys": "none"}, "provider_keys"),
        ("/jwks", ["not", "keys"], "provider_keys"),
        ("/jwks", {"keys": [{"kty": "RSA"}]}, "id_token"),
    ],
    ids=[
        "token-list",
        "no-id-token",
        "null-id-token",
        "object-id-token",
        "keys-not-a-list",
        "keys-list",
        "key-incomplete",
    ],
)
def test_a_malformed_answer_at_the_callback_is_refused(acme, stub, path, document, reason):
    keys = {"keys": [RSAKey.generate_key(2048).as_dict(private=False)]}
    stub.documents.update({"/token": TOKEN, "/jwks": keys, path: document})
    client = Client()
    state = _started(client)
    answer = client.get("/sso/callback/", {"code": "c", "state": state})
    assert answer.status_code == 403, answer.content[:500]
    assert _refusals(acme) == [reason]
