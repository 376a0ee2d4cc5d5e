"""Restore brings back a parent and the children deleted with it, from the API and the
admin; children deleted on their own before stay deleted."""

import pytest
from django.apps import apps

from compliance.recovery import SOFT_DELETE_CHILDREN
from crm.models import Opportunity, Proposal, ProposalLineItem, Task
from leads.models import Company, Interaction, Lead, LeadEnrichment
from smartweb.tenancy.context import tenant_context
from tests import factories

pytestmark = pytest.mark.django_db

CHILDREN = (Lead, Interaction, LeadEnrichment, Opportunity, Proposal, ProposalLineItem, Task)


def _deleted_at(organization, subject) -> dict:
    with tenant_context(organization):
        rows = {Company: Company.all_objects.filter(pk=subject.lead.company_id)}
        rows[Lead] = Lead.all_objects.filter(pk=subject.lead.pk)
        rows[Interaction] = Interaction.all_objects.filter(lead=subject.lead)
        rows[LeadEnrichment] = LeadEnrichment.all_objects.filter(lead=subject.lead)
        rows[Opportunity] = Opportunity.all_objects.filter(lead=subject.lead)
        rows[Proposal] = Proposal.all_objects.filter(opportunity__lead=subject.lead)
        rows[ProposalLineItem] = ProposalLineItem.all_objects.filter(
            proposal__opportunity__lead=subject.lead
        )
        rows[Task] = Task.all_objects.filter(opportunity__lead=subject.lead)
        return {model: set(q.values_list("deleted_at", flat=True)) for model, q in rows.items()}


def test_deleting_a_company_deletes_its_children_in_one_operation(org_a, subject):
    with tenant_context(org_a):
        earlier = Interaction.objects.filter(lead=subject.lead).first()
        earlier.delete()
        first_deletion = Interaction.all_objects.get(pk=earlier.pk).deleted_at
        Company.objects.get(pk=subject.lead.company_id).delete()
    stamps = _deleted_at(org_a, subject)
    (when,) = stamps[Company]
    for model in CHILDREN:
        assert stamps[model] - {first_deletion} == {when}, model
    # Restoring the company brings its children back, not what was deleted before.
    with tenant_context(org_a):
        Company.all_objects.get(pk=subject.lead.company_id).restore()
    stamps = _deleted_at(org_a, subject)
    for model in (Company, *CHILDREN):
        assert None in stamps[model], model
    assert stamps[Interaction] == {None, first_deletion}


def test_restore_from_the_api(org_a, admin_a, subject):
    with tenant_context(org_a):
        interactions = Interaction.objects.filter(lead=subject.lead).count()
    client = factories.api_client(admin_a, org_a)
    assert client.delete(f"/api/v1/leads/{subject.lead.pk}/").status_code == 204
    with tenant_context(org_a):
        assert not Interaction.objects.filter(lead=subject.lead).exists()
        assert not Opportunity.objects.filter(lead=subject.lead).exists()
    response = client.post(f"/api/v1/leads/{subject.lead.pk}/restore/")
    assert response.status_code == 200, response.content
    with tenant_context(org_a):
        assert Interaction.objects.filter(lead=subject.lead).count() == interactions
        assert Proposal.objects.filter(opportunity__lead=subject.lead).count() == 1


def test_restore_from_the_admin(client, org_a, admin_a, subject):
    with tenant_context(org_a):
        Company.objects.get(pk=subject.lead.company_id).delete()
    client.force_login(admin_a)
    response = client.post(
        "/admin/leads/company/?state=deleted",
        {"action": "restore_selected", "_selected_action": [str(subject.lead.company_id)]},
    )
    assert response.status_code == 302
    with tenant_context(org_a):
        assert Lead.objects.filter(pk=subject.lead.pk).exists()
        assert Task.objects.filter(lead=subject.lead).exists()


def test_the_cascade_table_is_installed():
    for label, names in SOFT_DELETE_CHILDREN.items():
        assert apps.get_model(label).soft_delete_children == names
