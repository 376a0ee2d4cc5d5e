"""A record's History page and the pages of its past versions name the rows they point at,
linked only where the viewer may open them, as the record's own page does: a colleague a
lead is shared with reads a version's company without a link (its page answers them 404),
and who made a change is linked only while their page opens (a former member's does not).
Another organization's user gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import services as accounts_services
from accounts.models import Membership
from leads import services as lead_services
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import acting_as, admin_browser, share

pytestmark = pytest.mark.django_db


def _change(name: str, pk) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


def test_a_past_version_links_only_what_its_viewer_may_open(org_a, rep_a, rep_a2, admin_b):
    lead = factories.lead(org_a, assigned_to=rep_a, company_name="Acme Plumbing")
    share(lead, rep_a2, org_a, by=rep_a, access="read")
    with tenant_context(org_a):
        version = Lead.history.filter(id=lead.pk).latest("history_date")
    version_page = reverse("admin:leads_lead_simple_history", args=[lead.pk, version.pk])
    company_page = _change("leads_company", lead.company_id)

    colleague = admin_browser(rep_a2)
    body = colleague.get(version_page).content.decode()
    assert "Acme Plumbing" in body and company_page not in body
    assert colleague.get(company_page).status_code == 404

    assert company_page in admin_browser(rep_a).get(version_page).content.decode()
    assert admin_browser(admin_b).get(version_page).status_code == 404


def test_who_changed_a_record_is_linked_while_their_page_opens(
    org_a, admin_a, manager_a, rep_a, admin_b
):
    lead = factories.lead(org_a, assigned_to=rep_a)
    with acting_as(manager_a, org_a):
        lead_services.lead_update(
            lead=lead, acting_user=manager_a, data={"notes": "Called, no answer"}
        )
    history_page = reverse("admin:leads_lead_history", args=[lead.pk])
    manager_page = _change("accounts_user", manager_a.pk)
    owner = admin_browser(rep_a)
    assert manager_page in owner.get(history_page).content.decode()

    with acting_as(admin_a, org_a):
        accounts_services.membership_delete(
            membership=Membership.objects.get(user=manager_a), acting_user=admin_a
        )
    body = owner.get(history_page).content.decode()
    assert manager_a.get_full_name() in body and manager_page not in body
    assert owner.get(manager_page).status_code == 404
    assert admin_browser(admin_b).get(history_page).status_code == 404
