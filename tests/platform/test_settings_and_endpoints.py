"""Production settings are safe by default; health, schema and docs are served."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SMARTWEB_TESTING": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "crm.example.com",
    "FIELD_ENCRYPTION_KEY": "gCTZyF9vIn5lX3zK2bqLJ0m6d0V3qXz5r8sQm3hT0aE=",
    "DATABASE_URL": os.environ["DATABASE_URL"],
}


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production_mode():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_stored_secrets_have_no_key_of_their_own():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "FIELD_ENCRYPTION_KEY"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "accounts.W001" in result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_is_off_unless_asked_for():
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.DEBUG)", env=PRODUCTION_ENV
    )
    assert result.stdout.strip().endswith("False"), result.stderr


@pytest.mark.django_db
def test_health_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_the_load_balancer_reaches_the_health_check_over_plain_http():
    """Production redirects http to https, but a load balancer checks its machines over
    plain http (TLS ends at it): /healthz answers there, every other page redirects."""
    script = (
        "from django.test import Client; client = Client(HTTP_HOST='crm.example.com');"
        "print(client.get('/healthz').status_code, client.get('/admin/').status_code)"
    )
    result = _manage("shell", "-c", script, env=PRODUCTION_ENV)
    assert result.stdout.split()[-2:] == ["200", "301"], result.stderr


@pytest.mark.django_db
def test_openapi_schema_and_swagger_ui_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "SmartWeb CRM API"
    assert client.get("/api/docs/").status_code == 200


def test_time_is_timezone_aware_utc():
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "UTC"
