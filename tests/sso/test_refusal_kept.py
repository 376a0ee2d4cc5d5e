"""A sign-in refused with a server error (the provider unreachable, or answering what the
sign-in cannot use: a 502 page) is in the organization's security log, though the request's
other writes are rolled back (smartweb.tenancy.durable, ADR 0040).

Outside the test transaction (transaction=True): the request's transaction is then a real
one, really rolled back, and the audit row is written in a transaction of its own by the
application's role, under RLS, as in production."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client

from accounts.audit import AuditAction
from leads.models import Company
from smartweb.tenancy.context import tenant_context
from sso import oidc
from tests.accounts.conftest import audit_rows
from tests.factories import make_organization
from tests.sso.conftest import configure
from tests.sso.stub_provider import DISCOVERY

pytestmark = pytest.mark.django_db(transaction=True)

WRITTEN_BEFORE = "Written before the refusal"


@dataclass
class Nowhere:
    """A provider's address where nothing listens."""

    discovery_url: str


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _refusals(organization) -> list[str]:
    rows = audit_rows(organization, action=AuditAction.SSO_REFUSED)
    return [row.details["reason"] for row in rows]


def _companies(organization) -> list[str]:
    with tenant_context(organization):
        return list(Company.objects.values_list("name", flat=True))


def _leftover_context():
    with connection.cursor() as cursor:
        cursor.execute("SELECT smartweb_current_organization_id(), smartweb_current_user_id()")
        return cursor.fetchone()


@pytest.fixture
def writes_before_starting(monkeypatch):
    """The start page writes a company in the organization before calling its provider:
    a write of the request that the refusal must not keep."""
    authorization_url = oidc.authorization_url

    def writing(request, provider):
        with tenant_context(provider.organization_id):
            Company.objects.create(name=WRITTEN_BEFORE)
        return authorization_url(request, provider)

    monkeypatch.setattr(oidc, "authorization_url", writing)


def test_an_unreachable_provider_is_a_502_whose_refusal_is_in_the_log():
    organization = make_organization("Acme", slug="acme")
    configure(
        organization,
        Nowhere(f"http://127.0.0.1:{_closed_port()}/.well-known/openid-configuration"),
    )
    answer = Client().get("/sso/acme/start/")
    assert answer.status_code == 502
    assert "cannot be reached" in answer.content.decode()
    assert _refusals(organization) == ["provider_unreachable"]
    (row,) = audit_rows(organization, action=AuditAction.SSO_REFUSED)
    assert row.organization_id == organization.pk
    assert row.details["provider"] == "Test provider"
    assert _leftover_context() == (None, None)


def test_a_502_refusal_keeps_its_audit_row_and_nothing_else(acme, stub, writes_before_starting):
    stub.documents[DISCOVERY] = stub.discovery(token_endpoint=None)
    answer = Client().get("/sso/acme/start/")
    assert answer.status_code == 502
    assert "discovery document lacks token_endpoint" in answer.content.decode()
    assert _refusals(acme) == ["provider_metadata"]
    assert _companies(acme) == []


def test_a_refusal_that_crashes_while_rendered_keeps_its_audit_row(
    acme, stub, monkeypatch, writes_before_starting
):
    stub.documents[DISCOVERY] = stub.discovery(jwks_uri=None)

    def broken_page(*args, **kwargs):
        raise RuntimeError("the refusal page could not be rendered")

    monkeypatch.setattr("sso.views.render", broken_page)
    answer = Client(raise_request_exception=False).get("/sso/acme/start/")
    assert answer.status_code == 500
    assert _refusals(acme) == ["provider_metadata"]
    assert _companies(acme) == []


def test_a_sign_in_started_keeps_what_the_request_wrote(acme, stub, writes_before_starting):
    """The control: without a refusal the request's writes stay, and none is logged."""
    answer = Client().get("/sso/acme/start/")
    assert answer.status_code == 302
    assert _companies(acme) == [WRITTEN_BEFORE]
    assert _refusals(acme) == []
