"""A row in the trash does not hold up its parent's delete from the admin: a lead whose
call (or deal) was deleted before it is deleted from its page and from the list as any
other lead, and the call stays as it was deleted. Django's confirmation counted the
deleted call among the rows deleted with the lead, and since a deleted row is not
deleted again, answered "your account doesn't have permission to delete … interaction"
to an organization admin, who could no longer delete the lead at all. A live deal
still stops the delete on Django's "Cannot delete" page (ADR 0052)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from leads.choices import InteractionType
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.factories import admin_browser
from tests.leads.factories import InteractionFactory

pytestmark = pytest.mark.django_db

NO_PERMISSION = "doesn't have permission to delete"


def _trashed(organization, row):
    """`row` deleted, and when."""
    with tenant_context(organization):
        row = type(row).objects.get(pk=row.pk)
        row.delete()
    return row.deleted_at


def _deleted_at(organization, row):
    with tenant_context(organization):
        return type(row).all_objects.get(pk=row.pk).deleted_at


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_lead_whose_call_is_in_the_trash_is_deleted_from_its_page(org_a, admin_a):
    with tenant_context(org_a):
        call = InteractionFactory(organization=org_a, type=InteractionType.SMS)
        kept = InteractionFactory(organization=org_a, lead=call.lead, type=InteractionType.EMAIL)
    lead = call.lead
    call_deleted_at = _trashed(org_a, call)
    client = admin_browser(admin_a)
    page = reverse("admin:leads_lead_delete", args=[lead.pk])

    confirmation = client.get(page).content.decode()
    assert "Are you sure" in confirmation
    assert NO_PERMISSION not in confirmation and "Cannot delete" not in confirmation
    # What the delete takes along: the live call, not the one in the trash already.
    assert f"{kept}</a>" in confirmation and f"{call}</a>" not in confirmation

    response = client.post(page, {"post": "yes"})
    assert response.status_code == 302
    lead_deleted_at = _deleted_at(org_a, lead)
    assert lead_deleted_at is not None
    assert _deleted_at(org_a, kept) == lead_deleted_at
    assert _deleted_at(org_a, call) == call_deleted_at  # left as it was deleted


def test_the_list_deletes_a_lead_whose_deal_is_in_the_trash(org_a, admin_a):
    deal = crm_factories.opportunity(org_a, name="Roof job")
    deal_deleted_at = _trashed(org_a, deal)
    client = admin_browser(admin_a)
    changelist = reverse("admin:leads_lead_changelist")
    selected = {"action": "delete_selected", "_selected_action": [str(deal.lead_id)]}

    confirmation = client.post(changelist, selected).content.decode()
    assert "Are you sure" in confirmation and NO_PERMISSION not in confirmation

    response = client.post(changelist, {**selected, "post": "yes"})
    assert _messages(response) == ["Successfully deleted 1 lead."]
    assert _deleted_at(org_a, deal.lead) is not None
    assert _deleted_at(org_a, deal) == deal_deleted_at


def test_a_live_deal_still_stops_its_leads_delete(org_a, admin_a):
    deal = crm_factories.opportunity(org_a, name="Roof job")
    client = admin_browser(admin_a)
    page = reverse("admin:leads_lead_delete", args=[deal.lead_id])

    confirmation = client.get(page).content.decode()
    assert "Cannot delete lead" in confirmation and "Roof job" in confirmation
    assert NO_PERMISSION not in confirmation
    response = client.post(page, {"post": "yes"})
    assert response.status_code == 200  # the same page again
    assert _deleted_at(org_a, deal.lead) is None
    assert _deleted_at(org_a, deal) is None
