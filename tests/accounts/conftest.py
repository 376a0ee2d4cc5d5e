"""Helpers of the accounts tests: audit trails, token requests and admin clients."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditLog
from smartweb.tenancy.context import tenant_context
from tests.factories import PASSWORD

TOKEN_URL = "/api/v1/auth/token/"


def audit_rows(organization, **filters) -> list[AuditLog]:
    """`organization`'s audit log, oldest first."""
    with tenant_context(organization):
        return list(AuditLog.objects.filter(**filters).order_by("created_at"))


def audit_actions(organization, **filters) -> list[str]:
    return [row.action for row in audit_rows(organization, **filters)]


def obtain_token(email: str, password: str = PASSWORD, client: APIClient | None = None, **extra):
    """POST to the token endpoint; the response."""
    client = client or APIClient()
    return client.post(TOKEN_URL, {"email": email, "password": password, **extra}, format="json")


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def admin_client(user) -> Client:
    """A back-office client logged in as `user` (organization: their default membership)."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def login_limit(settings):
    """Small lockout limits and window for the tests: 3 failures per address and account,
    6 per address, 6 per account from unusual addresses."""
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 6
    settings.LOGIN_LOCKOUT_SECONDS = 600
    return settings.LOGIN_FAILURE_LIMIT
