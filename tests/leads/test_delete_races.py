"""Deletes and restores of one row racing each other (real sessions, committed): exactly
one acts, the others answer as they would a moment later (404), and a restore brings
back every child deleted with the row."""

from __future__ import annotations

import pytest
from django.db import transaction

from crm.models import Opportunity
from leads.models import Interaction, Lead
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.concurrency import Racer, wait_until_blocked
from tests.crm import factories as crm_factories
from tests.factories import api_client
from tests.leads.factories import InteractionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def converted():
    """A committed organization's API client, and a lead with notes and an opportunity."""
    organization = factories.make_organization("Racing Deletes")
    opportunity = crm_factories.opportunity(organization)
    with tenant_context(organization):
        InteractionFactory(organization=organization, lead=opportunity.lead)
    client = api_client(factories.org_admin(organization), organization)
    return organization, client, opportunity.lead


def _live_children(organization, lead) -> tuple[int, int]:
    with tenant_context(organization):
        return (
            Interaction.objects.filter(lead=lead).count(),
            Opportunity.objects.filter(lead=lead).count(),
        )


def test_of_two_deletes_of_a_lead_one_acts_and_its_restore_brings_back_its_children(converted):
    organization, client, lead = converted
    children = _live_children(organization, lead)
    assert children[0] >= 2 and children[1] == 1
    url = f"/api/v1/leads/{lead.pk}/"
    with tenant_context(organization), transaction.atomic():
        Lead.objects.get(pk=lead.pk).delete()  # the first delete, its locks held
        second = Racer(lambda: client.delete(url)).start()
        wait_until_blocked(second)
    second.join()
    # The second found the lead deleted once it had the lock: as a delete a moment
    # later does, it is a 404, and wrote nothing.
    assert second.result.status_code == 404, second.result.content
    assert client.delete(url).status_code == 404
    with tenant_context(organization):
        deleted = Lead.all_objects.get(pk=lead.pk).deleted_at
        assert {
            *Interaction.all_objects.filter(lead=lead).values_list("deleted_at", flat=True),
            *Opportunity.all_objects.filter(lead=lead).values_list("deleted_at", flat=True),
        } == {deleted}
    assert client.post(f"{url}restore/").status_code == 200
    assert _live_children(organization, lead) == children


def test_of_two_restores_of_a_lead_one_acts(converted):
    organization, client, lead = converted
    children = _live_children(organization, lead)
    url = f"/api/v1/leads/{lead.pk}/"
    assert client.delete(url).status_code == 204
    with tenant_context(organization):
        versions = Lead.history.filter(id=lead.pk).count()
    with tenant_context(organization), transaction.atomic():
        Lead.all_objects.get(pk=lead.pk).restore()  # the first restore, its locks held
        second = Racer(lambda: client.post(f"{url}restore/")).start()
        wait_until_blocked(second)
    second.join()
    # As a restore of a live lead is.
    assert second.result.status_code == 404, second.result.content
    assert client.post(f"{url}restore/").status_code == 404
    assert _live_children(organization, lead) == children
    with tenant_context(organization):  # one restore written, not two
        assert Lead.history.filter(id=lead.pk).count() == versions + 1


def test_a_restore_of_a_deal_waits_for_a_delete_of_its_lead_and_is_then_refused(converted):
    """A deal is never restored under a lead deleted meanwhile: the restore holds the lead
    (smartweb.restore_parents), so it waits for the delete and then finds it."""
    organization, client, lead = converted
    deal = _deal_deleted_alone(organization, client, lead)
    with tenant_context(organization), transaction.atomic():
        Lead.objects.get(pk=lead.pk).delete()  # the lead's delete, its locks held
        restore = Racer(lambda: client.post(f"/api/v1/opportunities/{deal.pk}/restore/"))
        wait_until_blocked(restore.start())
    restore.join()
    assert restore.result.status_code == 409, restore.result.content
    assert restore.result.json()["error"]["message"].startswith("Restore its lead “")
    assert _live_children(organization, lead)[1] == 0


def test_a_delete_of_a_lead_waits_for_a_restore_of_its_deal_and_takes_it_along(converted):
    organization, client, lead = converted
    deal = _deal_deleted_alone(organization, client, lead)
    with tenant_context(organization), transaction.atomic():
        Opportunity.all_objects.get(pk=deal.pk).restore()  # the restore, its locks held
        delete = Racer(lambda: client.delete(f"/api/v1/leads/{lead.pk}/")).start()
        wait_until_blocked(delete)
    delete.join()
    assert delete.result.status_code == 204, delete.result.content
    with tenant_context(organization):  # deleted with the lead: restored with it
        deleted = Lead.all_objects.get(pk=lead.pk).deleted_at
        assert Opportunity.all_objects.get(pk=deal.pk).deleted_at == deleted


def _deal_deleted_alone(organization, client, lead) -> Opportunity:
    with tenant_context(organization):
        deal = Opportunity.objects.get(lead=lead)
    assert client.delete(f"/api/v1/opportunities/{deal.pk}/").status_code == 204
    return deal
