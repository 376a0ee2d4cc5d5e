"""A shared record's admin page names the rows it points at, linked only where the viewer may
open them: a colleague a lead is shared with reads its company's name and enrichments but
gets no link to their pages (404 to them), nor to a shared deal's lead; the owner keeps
the links. Another organization's user gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads import services as lead_services
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import admin_browser, share

pytestmark = pytest.mark.django_db


def _change(name: str, pk) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


@pytest.mark.parametrize("level", ["read", "update"])
def test_a_shared_leads_page_links_only_what_its_colleague_may_open(
    org_a, rep_a, rep_a2, admin_b, level
):
    lead = factories.lead(org_a, assigned_to=rep_a, company_name="Acme Plumbing")
    with tenant_context(org_a):
        enrichment = lead_services.enrichment_record(
            lead=lead, acting_user=None, provider="registry", data={}, apply=False
        )
    share(lead, rep_a2, org_a, by=rep_a, access=level)
    company_page = _change("leads_company", lead.company_id)
    enrichment_page = _change("leads_leadenrichment", enrichment.pk)
    lead_page = _change("leads_lead", lead.pk)

    colleague = admin_browser(rep_a2)
    body = colleague.get(lead_page).content.decode()
    assert "Acme Plumbing" in body and "registry" in body
    assert company_page not in body and enrichment_page not in body
    assert colleague.get(company_page).status_code == 404
    assert colleague.get(enrichment_page).status_code == 404

    owner = admin_browser(rep_a).get(lead_page).content.decode()
    assert company_page in owner and enrichment_page in owner
    assert admin_browser(admin_b).get(lead_page).status_code == 404


def test_a_shared_deals_page_names_its_lead_without_a_link(org_a, rep_a, rep_a2, admin_b):
    deal = factories.opportunity(org_a, owner=rep_a, name="Shared deal")
    share(deal, rep_a2, org_a, by=rep_a, access="update")
    deal_page = _change("crm_opportunity", deal.pk)
    lead_page = _change("leads_lead", deal.lead_id)
    with tenant_context(org_a):
        lead_name = str(type(deal).objects.get(pk=deal.pk).lead)

    colleague = admin_browser(rep_a2)
    body = colleague.get(deal_page).content.decode()
    assert lead_name in body and lead_page not in body
    assert colleague.get(lead_page).status_code == 404

    assert lead_page in admin_browser(rep_a).get(deal_page).content.decode()
    assert admin_browser(admin_b).get(deal_page).status_code == 404
