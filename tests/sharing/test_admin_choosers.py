"""The admin's lead choosers of the forms that attach something to a lead offer only the leads
whose service would accept it: a lead shared for viewing is offered to none of them, one
shared for editing to those that need the right to change it (enrichment, task), not to a
new interaction (created in the lead's scope, which no share widens). Another
organization's user is offered none of them."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Task
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import share

pytestmark = pytest.mark.django_db


def _offered(user, model_name: str, field_name: str = "lead") -> set[str]:
    client = Client()
    client.force_login(user)
    app_label = "crm" if model_name == "task" else "leads"
    answer = client.get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": ""},
    )
    assert answer.status_code == 200, answer.content.decode()
    return {row["id"] for row in answer.json()["results"]}


@pytest.fixture
def leads(org_a, rep_a, rep_a2):
    """rep_a2's own lead, and two of rep_a's: shared with rep_a2 for viewing, for editing."""
    own = factories.lead(org_a, assigned_to=rep_a2)
    viewed = factories.lead(org_a, assigned_to=rep_a)
    edited = factories.lead(org_a, assigned_to=rep_a)
    share(viewed, rep_a2, org_a, by=rep_a, access="read")
    share(edited, rep_a2, org_a, by=rep_a, access="update")
    return {
        name: str(lead.pk) for name, lead in (("own", own), ("viewed", viewed), ("edited", edited))
    }


def test_the_lead_choosers_offer_the_leads_their_save_accepts(org_a, rep_a2, admin_b, leads):
    assert _offered(rep_a2, "interaction") == {leads["own"]}
    assert _offered(rep_a2, "leadenrichment") == {leads["own"], leads["edited"]}
    assert _offered(admin_b, "interaction") == set()
    assert _offered(admin_b, "leadenrichment") == set()


def test_the_task_form_refuses_a_lead_shared_for_viewing_at_the_field(org_a, rep_a2, leads):
    client = Client()
    client.force_login(rep_a2)
    add = reverse("admin:crm_task_add")
    task = {"title": "Call back", "type": "follow_up", "priority": "normal", "status": "open"}
    task["assigned_to"] = str(rep_a2.pk)

    refused = client.post(add, {**task, "lead": leads["viewed"]})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors.keys() == {"lead"}
    with tenant_context(org_a):
        assert not Task.objects.filter(lead_id=leads["viewed"]).exists()

    done = client.post(add, {**task, "lead": leads["edited"]})
    assert done.status_code == 302, done.content.decode()
    with tenant_context(org_a):
        assert Task.objects.filter(lead_id=leads["edited"]).count() == 1


def _looked_up(client, add_page: str, field_name: str) -> set[str]:
    """The rows the list opened by the magnifier next to `field_name` offers to choose."""
    page = client.get(add_page).content.decode()
    [lookup] = re.findall(
        rf'href="([^"]+)" class="related-lookup" id="lookup_id_{field_name}"', page
    )
    # The page's script opens the link as a popup, which adds `_popup=1`.
    answer = client.get(f"{html.unescape(lookup)}&_popup=1")
    assert answer.status_code == 200, answer.content.decode()[-2000:]
    return set(re.findall(r'data-popup-opener="([^"]+)"', answer.content.decode()))


def test_the_lookup_popups_list_the_records_their_save_accepts(org_a, rep_a, rep_a2, leads):
    deal_own = factories.opportunity(org_a, owner=rep_a2)
    deal_viewed = factories.opportunity(org_a, owner=rep_a)
    share(deal_viewed, rep_a2, org_a, by=rep_a, access="read")
    client = Client()
    client.force_login(rep_a2)
    task_add = reverse("admin:crm_task_add")

    assert _looked_up(client, task_add, "lead") == {
        leads["own"],
        leads["edited"],
        str(deal_own.lead_id),
    }
    assert _looked_up(client, task_add, "opportunity") == {str(deal_own.pk)}
    # The lead list itself still lists every lead the rep may read.
    listed = client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert leads["viewed"] in listed


def test_the_consent_lookup_lists_the_leads_a_consent_may_be_recorded_on(
    org_a, admin_a, rep_a2, leads
):
    client = Client()
    client.force_login(rep_a2)
    consent_add = reverse("admin:compliance_consentrecord_add")
    assert _looked_up(client, consent_add, "lead") == {leads["own"], leads["edited"]}
    admin = Client()
    admin.force_login(admin_a)
    assert _looked_up(admin, consent_add, "lead") == set(leads.values())


def test_a_lookup_naming_an_unknown_form_lists_the_readable_rows(org_a, rep_a2, admin_b, leads):
    client = Client()
    client.force_login(rep_a2)
    lead_list = reverse("admin:leads_lead_changelist")
    for served in ("nowhere.nothing.lead", "crm.task", "leads.lead.company"):
        answer = client.get(lead_list, {"_to_field": "id", "_popup": "1", "_attached_by": served})
        assert answer.status_code == 200
        assert set(re.findall(r'data-popup-opener="([^"]+)"', answer.content.decode())) == set(
            leads.values()
        )
    outsider = Client()
    outsider.force_login(admin_b)
    answer = outsider.get(
        lead_list, {"_to_field": "id", "_popup": "1", "_attached_by": "crm.task.lead"}
    )
    assert re.findall(r'data-popup-opener="([^"]+)"', answer.content.decode()) == []


def test_a_raw_id_names_and_links_a_row_only_where_it_opens(org_a, rep_a, rep_a2, admin_a):
    # A task assigned to rep_a on rep_a2's deal: rep_a keeps the deal on the task, and
    # may neither open the deal or its lead nor read their names (as the API gives their
    # ids alone; ADR 0052).
    deal = factories.opportunity(org_a, owner=rep_a2)
    task = factories.task(org_a, opportunity=deal, lead=deal.lead, assigned_to=rep_a)
    page = reverse("admin:crm_task_change", args=[task.pk])
    links = {
        "deal": reverse("admin:crm_opportunity_change", args=[deal.pk]),
        "lead": reverse("admin:leads_lead_change", args=[deal.lead_id]),
    }
    for user, linked in ((rep_a, False), (admin_a, True)):
        client = Client()
        client.force_login(user)
        shown = client.get(page)
        assert shown.status_code == 200
        text = html.unescape(shown.content.decode())
        assert (str(deal) in text) is linked, user
        for url in links.values():
            assert (f'href="{url}"' in text) is linked, (user, url)
            assert client.get(url).status_code == (200 if linked else 404)
