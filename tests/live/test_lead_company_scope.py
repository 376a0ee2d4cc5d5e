"""The Add lead form in the browser against a company outside the rep's scope: the
autocomplete does not offer it, and posted anyway it is refused as the service refuses
it ("Unknown company."), nothing created, the rest of the form kept as typed. The rep's
own company is taken, and the lead so made is saved unchanged by each role."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User
from leads import services
from leads.models import Company, Lead
from smartweb.tenancy.context import tenant_context
from tests.factories import acting_as
from tests.live import pages

ADD_LEAD = reverse("admin:leads_lead_add")


def _company_of(role: str, name: str) -> Company:
    """A company recorded by the demo `role`, with no lead yet."""
    user = User.objects.get(email=pages.email_of(role))
    with acting_as(user, pages.demo_organization()):
        return services.company_create(acting_user=user, data={"name": name})


def _leads_of(company: Company) -> int:
    with tenant_context(pages.demo_organization()):
        return Lead.all_objects.filter(company=company).count()


def _fill_contact(browser) -> None:
    browser.fill("contact_name", "Dana Drain")
    browser.fill("contact_email", "dana@drains.example.test")
    browser.find("input[name='allow_duplicate']").click()


def test_the_autocomplete_offers_no_company_out_of_the_reps_scope(browser, read):
    company = _company_of("manager", "Manager's Boilers Out Of Reach")
    # The search finds it for whoever reads every company.
    browser.login(pages.email_of("admin"))
    browser.open(ADD_LEAD)
    assert browser.autocomplete_offers("company", "Out Of Reach") == [company.name]
    browser.login(pages.email_of("rep"))
    browser.open(ADD_LEAD)
    assert browser.autocomplete_offers("company", "Out Of Reach") == ["No results found"]


def test_a_company_out_of_scope_posted_anyway_is_refused_and_the_input_kept(browser, read):
    company = _company_of("manager", "Manager's Roofing Posted Anyway")
    browser.login(pages.email_of("rep"))
    browser.open(ADD_LEAD)
    _fill_contact(browser)
    browser.force_choice("company", str(company.pk))
    browser.save("_save")
    assert browser.errors()[-1:] == ["Unknown company."], browser.errors()
    assert browser.path.startswith(ADD_LEAD), "the form was left"
    assert browser.values("input[name='contact_name']") == ["Dana Drain"]
    assert browser.values("input[name='contact_email']") == ["dana@drains.example.test"]
    assert browser.find("input[name='allow_duplicate']").is_selected()
    assert _leads_of(company) == 0
    with tenant_context(pages.demo_organization()):
        assert not Lead.objects.filter(contact_email="dana@drains.example.test").exists()
    # Their own company, chosen instead, is taken.
    own = _company_of("rep", "Rep's Own Drains")
    browser.autocomplete("company", own.name)
    browser.save("_continue")
    assert any("successfully" in m for m in browser.messages()), browser.errors()
    assert _leads_of(own) == 1


# A company name per role, none the start of another's (the autocomplete picks the first).
SAVED_BY = {"admin": "Alder Gutters", "manager": "Birch Gutters", "rep": "Cedar Gutters"}


@pytest.mark.parametrize("role", sorted(SAVED_BY))
def test_the_reps_new_lead_is_saved_unchanged_by_each_role(browser, read, role):
    own = _company_of("rep", SAVED_BY[role])
    browser.login(pages.email_of("rep"))
    browser.open(ADD_LEAD)
    browser.autocomplete("company", own.name)
    _fill_contact(browser)
    browser.save("_save")
    with tenant_context(pages.demo_organization()):
        lead = Lead.objects.get(company=own)
    browser.login(pages.email_of(role))
    browser.open(reverse("admin:leads_lead_change", args=[lead.pk]))
    pages.save_unchanged(browser, admin.site.get_model_admin(Lead), lead.pk)
