"""One record of each kind that takes attachments, in one organization, owned by one user."""

from __future__ import annotations

from attachments import services
from attachments.models import Attachment
from smartweb.tenancy.context import tenant_context
from tests.attachments import samples
from tests.crm import factories as crm


def records(organization, owner) -> dict[str, object]:
    """field -> a record of that kind owned by `owner` (its lead assigned to them)."""
    opportunity = crm.opportunity(organization, owner=owner)
    proposal = crm.proposal(organization, opportunity)
    contract = crm.accepted(organization, proposal)
    with tenant_context(organization):
        lead = opportunity.lead
        company = lead.company
    return {
        "lead": lead,
        "company": company,
        "opportunity": opportunity,
        "proposal": proposal,
        "contract": contract,
    }


def attach(organization, record, name="quote.pdf", data=samples.PDF) -> Attachment:
    with tenant_context(organization):
        return services.attachment_create(
            record=record, upload=samples.upload(name, data), acting_user=None
        )
