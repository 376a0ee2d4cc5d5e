"""Start the test identity provider: its own database on the test server (created by the
owner role, dropped at the end), an RSA key made for the run, gunicorn serving it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from psycopg import sql

from smartweb.clusters import free_port
from smartweb.db_bootstrap import with_database
from tests.servers import ARTIFACTS_ROOT, running

PASSWORD = "provider-password-1"  # noqa: S105  (the test provider's users' password)
CLIENT_ID = "smartweb-crm"
CLIENT_SECRET = "test-client-secret-0123456789"  # noqa: S105  (the test provider's client)
# The provider's people: the email, and whether the provider says it is verified.
USERS = {
    "ann@example.test": True,
    "new@example.test": True,
    "unverified@example.test": False,
    "manager@demo.smartweb.test": True,
}


@dataclass
class IdentityProvider:
    url: str
    env: dict
    redirect_uris: list[str] = field(default_factory=list)

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/o/.well-known/openid-configuration"

    def allow_redirect(self, uri: str) -> None:
        """Register one more redirect URI of the client (a live server's callback)."""
        _setup(self.env, [uri])


def _rsa_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _owner_connection(dbname: str) -> psycopg.Connection:
    return psycopg.connect(settings.DATABASE_OWNER_URL, dbname=dbname, autocommit=True)


@contextmanager
def _database() -> Iterator[str]:
    """A database of the provider's own beside the test database, as the owner role."""
    name = f"{settings.DATABASES['default']['NAME']}_idp"
    with _owner_connection(settings.DATABASES["default"]["NAME"]) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        # The owner's URL with the other database: a socket path in its query (the
        # embedded server) stays where it is.
        yield with_database(settings.DATABASE_OWNER_URL, name)
    finally:
        with _owner_connection(settings.DATABASES["default"]["NAME"]) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _setup(env: dict, redirect_uris: list[str]) -> None:
    spec = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": redirect_uris,
        "users": [
            {"email": email, "password": PASSWORD, "verified": verified}
            for email, verified in USERS.items()
        ],
    }
    subprocess.run(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "tests.oidc_provider.setup"],
        input=json.dumps(spec),
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
    )


@contextmanager
def identity_provider(redirect_uris: list[str]) -> Iterator[IdentityProvider]:
    """The provider, serving until the block ends; its client accepts `redirect_uris`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = ARTIFACTS_ROOT / "sso" / "identity_provider.log"
    with _database() as database_url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DATABASE")},
            "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
            "OIDC_PROVIDER_DATABASE_URL": database_url,
            "OIDC_RSA_PRIVATE_KEY": _rsa_key(),
            "OIDC_ISSUER": f"{url}/o",
            # The provider runs on plain http on this machine only.
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
        }
        _setup(env, redirect_uris)
        command = [sys.executable, "-m", "gunicorn", "tests.oidc_provider.wsgi"]
        command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
        command += ["--worker-class", "gthread", "--access-logfile", "-"]
        with running(command, env, log) as process:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                        break
                except requests.RequestException:
                    pass  # not listening yet
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the identity provider did not start; see {log}")
                time.sleep(0.2)
            yield IdentityProvider(url=url, env=env, redirect_uris=redirect_uris)
