"""Stored secrets under a list of keys: a new key rolls out while the old one still
decrypts, `rotate_encryption_key` moves every value to the new key while the API serves,
and SECRET_KEY can change afterwards without losing a secret."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from io import StringIO

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts import crypto
from accounts.models import OAuthAccount
from crm.models import AICallWebhookSecret
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.crm import factories as crm_factories
from tests.servers import ARTIFACTS_ROOT, runtime_database_url, web_server

OLD, NEW, NEWEST = (Fernet.generate_key().decode() for _ in range(3))


def _keys(*keys: str):
    return override_settings(FIELD_ENCRYPTION_KEY=list(keys))


def _stored_secrets(organizations) -> dict:
    """Every organization's webhook secret and every OAuth token, as stored."""
    stored = {}
    for organization in organizations:
        with tenant_context(organization):
            stored[organization.pk] = AICallWebhookSecret.objects.get().secret_encrypted
    for account in OAuthAccount.objects.all():
        stored[account.pk] = account.access_token_encrypted
    return stored


def _decrypted(stored: dict) -> dict:
    return {key: crypto.decrypt(value) for key, value in stored.items()}


def _rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_encryption_key", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def world(db):
    organizations = [factories.make_organization(f"Keys {i}") for i in range(3)]
    user = factories.org_admin(organizations[0])
    with _keys(OLD):
        secrets = {org.pk: crm_factories.webhook_secret(org) for org in organizations}
        account = OAuthAccount(user=user, provider="google", provider_account_id="42")
        account.set_tokens(access="ya29.access", refresh="1//refresh")
        account.save()
    return organizations, secrets


@pytest.mark.django_db
def test_a_new_key_decrypts_old_values_and_the_rotation_moves_them(world):
    organizations, secrets = world
    with _keys(OLD):
        before = _decrypted(_stored_secrets(organizations))
    with _keys(NEW, OLD):
        assert _decrypted(_stored_secrets(organizations)) == before
        report = _rotate("--batch-size", "2")
        assert "crm.AICallWebhookSecret: 3 values, 3 re-encrypted, 0 unreadable" in report
        assert "accounts.OAuthAccount: 2 values, 2 re-encrypted, 0 unreadable" in report
        assert "3 values, 0 re-encrypted" in _rotate()  # run twice: nothing left to do
    with _keys(NEW):  # the old key is gone: everything still reads
        after = _decrypted(_stored_secrets(organizations))
    assert after == before
    assert {after[org.pk] for org in organizations} == set(secrets.values())


@pytest.mark.django_db
def test_secret_key_rotation_no_longer_touches_stored_secrets(db):
    organization = factories.make_organization("Legacy")
    with _keys():  # written before FIELD_ENCRYPTION_KEY existed: derived from SECRET_KEY
        secret = crm_factories.webhook_secret(organization)
    with _keys(NEW):
        _rotate()
    with _keys(NEW), override_settings(SECRET_KEY="a-new-secret-key-" * 4):
        assert _decrypted(_stored_secrets([organization])) == {organization.pk: secret}


@pytest.mark.django_db
def test_a_value_no_key_decrypts_is_reported_and_left_as_it_is(world):
    organizations, _ = world
    with tenant_context(organizations[1]):
        AICallWebhookSecret.objects.update(secret_encrypted=Fernet(NEWEST).encrypt(b"x").decode())
    with _keys(NEW, OLD):
        with pytest.raises(CommandError, match="1 values could not be decrypted"):
            _rotate()
        with tenant_context(organizations[1]):
            unreadable = AICallWebhookSecret.objects.get().secret_encrypted
            assert Fernet(NEWEST).decrypt(unreadable.encode()) == b"x"
        with tenant_context(organizations[0]):
            assert crypto.is_current(AICallWebhookSecret.objects.get().secret_encrypted)


@pytest.mark.django_db
def test_an_unreadable_secret_is_a_clear_error(world):
    organizations, _ = world
    with _keys(NEWEST), tenant_context(organizations[0]):
        row = AICallWebhookSecret.objects.get()
        with pytest.raises(crypto.UnreadableSecret, match="No configured key"):
            crypto.decrypt(row.secret_encrypted)


# --- under load ---------------------------------------------------------------------------


def _signed_delivery(url: str, organization, secret: str) -> int:
    """A correctly signed report of a call the organization does not have: 404 once the
    signature verified (it needs the decrypted secret), 401 or 500 if it could not."""
    body = json.dumps({"call_id": f"unknown-{uuid.uuid4()}", "status": "completed"}).encode()
    headers = {
        key.removeprefix("HTTP_").replace("_", "-"): value
        for key, value in crm_factories.signed_headers(organization, secret, body).items()
    }
    headers["Content-Type"] = "application/json"
    return requests.post(
        f"{url}/api/v1/webhooks/ai-calls/", data=body, headers=headers, timeout=30
    ).status_code


def _load(url: str, organizations, secrets: dict, stop: threading.Event, answers: list) -> None:
    while not stop.is_set():
        for organization in organizations:
            answers.append(_signed_delivery(url, organization, secrets[organization.pk]))


@pytest.mark.django_db(transaction=True)
def test_rotating_twice_under_load_keeps_every_secret_readable_and_every_request_served():
    organizations = [factories.make_organization(f"Load {i}") for i in range(4)]
    with _keys(OLD):
        secrets = {org.pk: crm_factories.webhook_secret(org) for org in organizations}
    env = {
        **os.environ,
        "DATABASE_URL": runtime_database_url(),
        "DEBUG": "0",
        "SMARTWEB_TESTING": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    answers: list[int] = []
    for keys in ((NEW, OLD), (NEWEST, NEW, OLD)):
        # The deploy: every server gets the new list first, then the rotation runs.
        env["FIELD_ENCRYPTION_KEY"] = ",".join(keys)
        log = ARTIFACTS_ROOT / "accounts" / f"rotation-{len(keys)}.log"
        with web_server(env, log, workers=2, threads=2) as url, _keys(*keys):
            stop = threading.Event()
            clients = [
                threading.Thread(target=_load, args=(url, organizations, secrets, stop, answers))
                for _ in range(3)
            ]
            for client in clients:
                client.start()
            time.sleep(0.5)
            _rotate("--batch-size", "1")
            time.sleep(0.5)
            stop.set()
            for client in clients:
                client.join()
    assert answers and set(answers) == {404}, {code: answers.count(code) for code in set(answers)}
    with _keys(NEWEST):
        assert _decrypted(_stored_secrets(organizations)) == secrets
