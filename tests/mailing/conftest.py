"""Email fixtures: a real SMTP server in the test process that Django's SMTP backend
sends to, a lead of organization A that may be written to, and a signed inbound
delivery."""

from __future__ import annotations

import json

import pytest

from mailing import delivery, services
from smartweb import signing
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.smtp_sink import smtp_sink


@pytest.fixture
def smtp(settings):
    """The running sink; Django's SMTP backend points at it."""
    with smtp_sink() as (sink, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        settings.DEFAULT_FROM_EMAIL = "CRM <crm@agency.test>"
        settings.EMAIL_REPLY_TO = ""
        yield sink


@pytest.fixture
def mail_lead(org_a, rep_a):
    """rep_a's lead, consenting, with an address."""
    return factories.lead(
        org_a, assigned_to=rep_a, contact_email="dana@dripdrop.test", company_name="Drip Drop"
    )


def deliver_all(organization) -> list[str]:
    """What the send job does for each queued message (jobs do not run in tests)."""
    with tenant_context(organization):
        ids = list(delivery.due().values_list("pk", flat=True))
        return [delivery.deliver(message_id=pk) for pk in ids]


@pytest.fixture
def inbound_secret(org_a):
    with tenant_context(org_a):
        return services.inbound_secret_rotate(acting_user=None)


def post_inbound(client, organization, payload, secret: str, **headers):
    body = json.dumps(payload).encode()
    signed = signing.signed_headers(secret, body)
    return client.post(
        "/api/v1/webhooks/inbound-email/",
        data=body,
        content_type="application/json",
        HTTP_X_ORGANIZATION=str(organization.slug),
        HTTP_X_TIMESTAMP=headers.get("timestamp", signed["X-Timestamp"]),
        HTTP_X_SIGNATURE=headers.get("signature", signed["X-Signature"]),
    )
