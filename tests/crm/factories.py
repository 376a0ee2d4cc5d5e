"""Builders of CRM rows for the tests; each writes in its organization's context, through
the services where a workflow is involved."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from decimal import Decimal

from crm import pricing, services
from crm.choices import AICallStatus
from crm.models import AICall, Campaign, Contract, Opportunity, Proposal, Task
from leads import services as lead_services
from leads.choices import LeadStatus
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import make_lead

_counter = iter(range(1, 1_000_000))


def lead(organization, *, status=LeadStatus.NEW, consent=True, phone=True, **fields):
    """A lead of a new company (with a phone, `company_phone` if given, and consent, so
    campaigns may call it)."""
    n = next(_counter)
    company = {"name": fields.pop("company_name", f"Trade Co {n}"), "business_type": "plumber"}
    if phone:
        company["phone"] = fields.pop("company_phone", f"01632 {960000 + n:06d}")
    made = make_lead(
        organization, company=company, consent_to_contact=consent, contact_name=f"Pat {n}", **fields
    )
    if status != LeadStatus.NEW:
        with tenant_context(organization):
            made = lead_services.lead_change_status(
                lead=made, status=status, acting_user=None, reason="set up by a test"
            )
    return made


def qualified_lead(organization, **fields):
    return lead(organization, status=LeadStatus.QUALIFIED, **fields)


def opportunity(organization, *, owner=None, value=Decimal("1000.00"), **fields) -> Opportunity:
    source = fields.pop("lead", None) or qualified_lead(organization, assigned_to=owner)
    with tenant_context(organization):
        return services.lead_convert(lead=source, acting_user=None, value=value, **fields)


def line(description="Website", quantity="1", unit_price="1000.00", discount="0", tax="0"):
    return pricing.LineInput(
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        discount_percent=Decimal(discount),
        tax_rate=Decimal(tax),
    )


def proposal(organization, opp: Opportunity, *, lines=None, **fields) -> Proposal:
    with tenant_context(organization):
        return services.proposal_create(
            opportunity=opp, acting_user=None, lines=lines or [line()], **fields
        )


def accepted(organization, proposal: Proposal) -> Contract:
    """The proposal sent and accepted: the contract drawn from it."""
    with tenant_context(organization):
        services.proposal_send(proposal=proposal, acting_user=None)
        return services.proposal_accept(proposal=proposal, acting_user=None)


def campaign(organization, **fields) -> Campaign:
    defaults = {
        "name": f"Campaign {next(_counter)}",
        "script": "Offer a new website to trades without one.",
        "calling_hours_start": dt.time(0, 0),
        "calling_hours_end": dt.time(23, 59, 59),
        "calling_days": [0, 1, 2, 3, 4, 5, 6],
    }
    with tenant_context(organization):
        return services.campaign_save(acting_user=None, **{**defaults, **fields})


def task(organization, **fields) -> Task:
    fields.setdefault("title", f"Task {next(_counter)}")
    with tenant_context(organization):
        return services.task_create(acting_user=None, **fields)


def webhook_secret(organization) -> str:
    with tenant_context(organization):
        return services.webhook_secret_rotate(acting_user=None)


def signed_headers(organization, secret: str, body: bytes, *, timestamp: int | None = None):
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return {
        "HTTP_X_ORGANIZATION": str(organization.pk),
        "HTTP_X_TIMESTAMP": stamp,
        "HTTP_X_SIGNATURE": f"sha256={signature.hexdigest()}",
    }


def deliver(client, organization, secret, payload: dict, **kwargs):
    """POST a signed webhook delivery; returns the response."""
    body = json.dumps(payload).encode()
    return client.post(
        "/api/v1/webhooks/ai-calls/",
        data=body,
        content_type="application/json",
        **signed_headers(organization, secret, body, **kwargs),
    )


def ai_call(organization, *, for_lead=None, in_campaign=None, provider_call_id=None) -> AICall:
    """A call the provider has started (in progress, with its call id)."""
    called = for_lead or lead(organization)
    owner = in_campaign or campaign(organization)
    with tenant_context(organization):
        return AICall.objects.create(
            campaign=owner,
            lead=called,
            provider="http",
            provider_call_id=provider_call_id or f"prov-{next(_counter)}",
            status=AICallStatus.IN_PROGRESS,
        )
