"""The deal list's search box on the live server, in Chromium: the rep types the name of
their deal's company, which the deal's own name does not say, and the list shows the deal;
once the company is renamed, its new name finds the deal and the old one no longer does."""

from __future__ import annotations

import uuid

from django.urls import reverse

from accounts.models import User
from leads import services as lead_services
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

OPPORTUNITIES = reverse("admin:crm_opportunity_changelist")


def _found(browser, term: str) -> list[str]:
    """The deals the list shows once `term` is typed in its search box and searched."""
    return pages.searched(browser, OPPORTUNITIES, term)


def test_the_rep_finds_a_deal_by_its_companys_name_before_and_after_a_rename(browser):
    organization = pages.demo_organization()
    rep = User.objects.get(email=pages.email_of("rep"))
    mark = uuid.uuid4().hex[:8]  # the demo's data is shared by the package's tests
    lead = crm_factories.qualified_lead(
        organization, assigned_to=rep, company_name=f"Quillfeather Joinery {mark}"
    )
    deal = crm_factories.opportunity(
        organization, owner=rep, lead=lead, name=f"Kitchen refit {mark}"
    )
    change = reverse("admin:crm_opportunity_change", args=[deal.pk])
    browser.login(pages.email_of("rep"))
    assert _found(browser, f"quillfeather {mark}") == [change]
    assert _found(browser, f"Joinery kitchen {mark}") == [change]  # a word of each name

    with tenant_context(organization):
        lead_services.company_update(
            company=lead.company, acting_user=None, data={"name": f"Oakridge Joinery {mark}"}
        )
    assert _found(browser, f"oakridge {mark}") == [change]
    assert _found(browser, f"quillfeather {mark}") == []
