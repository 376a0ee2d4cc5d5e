"""A restore that a unique rule refuses (a name another row has taken since the row was
deleted), or that would bring a row back under a parent in the trash (a deal whose lead is
deleted), is a refusal the user reads, not a server error nor a live row no list shows:
the list's "Restore selected" restores none of the chosen rows, names each refused one
and why, and writes nothing; left out, the others are restored. The API's restore
answers the same words with its 409 (smartweb.unique_clashes, smartweb.restore_parents).
A row that lived with its parent in the trash before it was deleted comes back as it was.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Membership, Role, RolePermission
from crm import services
from crm.models import Contract, Opportunity, Pipeline, PipelineStage, Proposal, Task
from leads import services as lead_services
from leads.models import Interaction, Lead, Tag
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.factories import UserFactory, admin_browser, api_client
from tests.leads.factories import InteractionFactory

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _restore(client, model, rows):
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    selected = {"action": "restore_selected", "_selected_action": [str(row.pk) for row in rows]}
    return client.post(f"{changelist}?state=deleted", selected)


def _state(organization, model) -> dict:
    """Each row's trash mark, and how many history rows the table has."""
    with tenant_context(organization):
        return {
            "deleted": dict(model.all_objects.values_list("pk", "deleted_at")),
            "history": model.history.count(),
        }


def _deleted_pipelines(organization):
    """A deleted pipeline whose name a new one has taken since, and one free to return."""
    with tenant_context(organization):
        taken = services.pipeline_create(name="Old offers", acting_user=None)
        free = services.pipeline_create(name="Winter offers", acting_user=None)
        for pipeline in (taken, free):
            services.pipeline_delete(pipeline=pipeline, acting_user=None)
        services.pipeline_create(name="Old offers", acting_user=None)
    return taken, free


def test_a_name_taken_since_refuses_the_restore_of_all_and_says_why(org_a, admin_a):
    taken, free = _deleted_pipelines(org_a)
    before = _state(org_a, Pipeline)
    client = admin_browser(admin_a)

    response = _restore(client, Pipeline, [taken, free])
    assert response.status_code == 302
    assert _messages(response) == [
        "Nothing was restored. “Old offers”: Restoring it would make two pipelines with the"
        " same name."
    ]
    assert _state(org_a, Pipeline) == before
    assert client.get(response["Location"]).status_code == 200  # the list, shown next

    # Left out, the other one is restored.
    response = _restore(client, Pipeline, [free])
    assert _messages(response) == ["Restored 1 row(s)."]
    assert _state(org_a, Pipeline)["deleted"][free.pk] is None


def test_several_refused_rows_are_named_in_one_sentence(org_a, admin_a):
    taken, free = _deleted_pipelines(org_a)
    with tenant_context(org_a):
        services.pipeline_create(name="Winter offers", acting_user=None)

    response = _restore(admin_browser(admin_a), Pipeline, [taken, free])
    (message,) = _messages(response)
    clash = "Restoring it would make two pipelines with the same name"
    assert message in (
        f"Nothing was restored. “{first}”: {clash}; “{second}”: {clash}."
        for first, second in (("Old offers", "Winter offers"), ("Winter offers", "Old offers"))
    )


def test_a_tag_whose_name_was_taken_in_other_letters_is_not_restored(org_a, admin_a):
    with tenant_context(org_a):
        vip = lead_services.tag_create(acting_user=None, data={"name": "VIP"})
        lead_services.tag_delete(tag=vip, acting_user=None)
        lead_services.tag_create(acting_user=None, data={"name": "vip"})
    before = _state(org_a, Tag)

    response = _restore(admin_browser(admin_a), Tag, [vip])
    assert _messages(response) == [
        "Nothing was restored. “VIP”: Restoring it would make two tags with the same name."
    ]
    assert _state(org_a, Tag) == before


def test_a_deal_whose_lead_has_another_open_deal_is_not_restored(org_a, admin_a):
    deal = crm_factories.opportunity(org_a, name="First try")
    with tenant_context(org_a):
        Opportunity.objects.get(pk=deal.pk).delete()
    crm_factories.opportunity(org_a, lead=deal.lead, name="Second try")
    before = _state(org_a, Opportunity)

    response = _restore(admin_browser(admin_a), Opportunity, [deal])
    assert _messages(response) == [
        "Nothing was restored. “First try”: Restoring it would make two opportunities of the"
        " same lead."
    ]
    assert _state(org_a, Opportunity) == before


def test_the_api_restore_answers_the_same_words(org_a, admin_a):
    taken, _ = _deleted_pipelines(org_a)
    before = _state(org_a, Pipeline)
    response = api_client(admin_a, org_a).post(f"/api/v1/pipelines/{taken.pk}/restore/")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "Restoring it would make two pipelines with the same name."
    )
    assert _state(org_a, Pipeline) == before


# A parent in the trash


def _told(client, model, rows) -> list[str]:
    """What the list says of restoring `rows`, read as the list shown next reads it."""
    response = _restore(client, model, rows)
    assert client.get(response["Location"]).status_code == 200
    return _messages(response)


def _deleted(organization, model, row):
    with tenant_context(organization):
        model.objects.get(pk=row.pk).delete()


def _named(organization, row) -> str:
    with tenant_context(organization):
        return str(type(row).all_objects.get(pk=row.pk))


def test_a_deal_whose_lead_is_deleted_is_not_restored_and_the_lead_is_named(org_a, admin_a):
    deal = crm_factories.opportunity(org_a, name="Roof job")
    free = crm_factories.opportunity(org_a, name="Gutter job")
    _deleted(org_a, Opportunity, free)
    _deleted(org_a, Lead, deal.lead)  # the deal with it
    before = _state(org_a, Opportunity)
    client = admin_browser(admin_a)

    assert _told(client, Opportunity, [deal, free]) == [
        f"Nothing was restored. “Roof job”: Restore its lead “{_named(org_a, deal.lead)}” first."
    ]
    assert _state(org_a, Opportunity) == before

    # The lead restored brings its deal back with it; the other one is restored alone.
    assert _told(client, Lead, [deal.lead]) == ["Restored 1 row(s)."]
    assert _told(client, Opportunity, [free]) == ["Restored 1 row(s)."]
    assert set(_state(org_a, Opportunity)["deleted"].values()) == {None}


def test_the_api_refuses_a_task_whose_deal_is_deleted_and_a_stage_whose_pipeline_is(org_a, admin_a):
    deal = crm_factories.opportunity(org_a, name="Roof job")
    task = crm_factories.task(org_a, opportunity=deal, title="Call back")
    with tenant_context(org_a):
        winter = services.pipeline_create(name="Winter offers", acting_user=None)
        stage = PipelineStage.objects.filter(pipeline=winter).first()
        services.pipeline_delete(pipeline=winter, acting_user=None)  # its stages with it
    _deleted(org_a, Opportunity, deal)  # its task with it
    before = _state(org_a, Task), _state(org_a, PipelineStage)
    client = api_client(admin_a, org_a)

    response = client.post(f"/api/v1/tasks/{task.pk}/restore/")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "Restore its opportunity “Roof job” first."
    response = client.post(f"/api/v1/pipeline-stages/{stage.pk}/restore/")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "Restore its pipeline “Winter offers” first."
    assert (_state(org_a, Task), _state(org_a, PipelineStage)) == before

    assert client.post(f"/api/v1/opportunities/{deal.pk}/restore/").status_code == 200
    assert client.get(f"/api/v1/tasks/{task.pk}/").status_code == 200  # back with it


def test_a_lead_whose_deal_s_pipeline_was_deleted_since_is_not_restored(org_a, admin_a):
    """The rows restored with it are held to the rule too: the deal would come back into
    a deleted pipeline. Its stage, deleted with the pipeline, is not named again."""
    with tenant_context(org_a):
        winter = services.pipeline_create(name="Winter offers", acting_user=None)
    deal = crm_factories.opportunity(org_a, name="Roof job", pipeline=winter)
    _deleted(org_a, Lead, deal.lead)
    with tenant_context(org_a):  # no open deal in it now: it may be deleted
        services.pipeline_delete(pipeline=winter, acting_user=None)
    before = _state(org_a, Lead), _state(org_a, Opportunity)
    client = api_client(admin_a, org_a)

    response = client.post(f"/api/v1/leads/{deal.lead.pk}/restore/")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "Restore the pipeline “Winter offers” of its opportunity “Roof job” first."
    )
    assert (_state(org_a, Lead), _state(org_a, Opportunity)) == before

    assert client.post(f"/api/v1/pipelines/{winter.pk}/restore/").status_code == 200
    assert client.post(f"/api/v1/leads/{deal.lead.pk}/restore/").status_code == 200
    assert client.get(f"/api/v1/opportunities/{deal.pk}/").status_code == 200


def test_a_row_that_lived_with_its_parent_in_the_trash_comes_back_as_it_was(org_a, admin_a):
    """A contract whose proposal was deleted before its deal comes back with the deal,
    the proposal still in the trash: else neither could come back first. A key that
    names a row the row outlives (an AI call's interaction) names no parent."""
    deal = crm_factories.opportunity(org_a, name="Roof job")
    proposal = crm_factories.proposal(org_a, deal)
    contract = crm_factories.accepted(org_a, proposal)
    _deleted(org_a, Proposal, proposal)
    _deleted(org_a, Opportunity, deal)
    call = crm_factories.ai_call(org_a)
    with tenant_context(org_a):
        call.interaction = InteractionFactory(organization=org_a, lead=call.lead)
        call.save(update_fields=["interaction"])
    _deleted(org_a, Interaction, call.interaction)
    _deleted(org_a, type(call), call)
    client = api_client(admin_a, org_a)

    assert client.post(f"/api/v1/opportunities/{deal.pk}/restore/").status_code == 200
    with tenant_context(org_a):
        assert Contract.objects.filter(pk=contract.pk).exists()
        assert not Proposal.objects.filter(pk=proposal.pk).exists()
    assert client.post(f"/api/v1/proposals/{proposal.pk}/restore/").status_code == 200
    with tenant_context(org_a):
        type(call).all_objects.get(pk=call.pk).restore()
        assert type(call).objects.filter(interaction=call.interaction).exists()


def test_a_parent_is_named_only_to_whoever_may_read_it(org_a, admin_a):
    """A member who restores tasks, and reads no deals, is told what to restore first,
    not the deal's name (ADR 0052)."""
    with tenant_context(org_a):
        role = Role.objects.create(name="Task keeper", slug="task-keeper")
        for action in (Action.READ, Action.DELETE):
            RolePermission.objects.create(
                role=role, resource=Resource.TASKS, action=action, scope=Scope.ALL
            )
        keeper = UserFactory()
        Membership.objects.create(organization=org_a, user=keeper, role=role)
    deal = crm_factories.opportunity(org_a, name="Roof job")
    task = crm_factories.task(org_a, opportunity=deal)
    _deleted(org_a, Opportunity, deal)

    response = api_client(keeper, org_a).post(f"/api/v1/tasks/{task.pk}/restore/")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "Restore its opportunity first."
    response = api_client(admin_a, org_a).post(f"/api/v1/tasks/{task.pk}/restore/")
    assert response.json()["error"]["message"] == "Restore its opportunity “Roof job” first."


def test_a_deleted_rows_page_says_where_to_restore_it(org_a, admin_a):
    deal = crm_factories.opportunity(org_a, name="Roof job")
    _deleted(org_a, Opportunity, deal)
    page = admin_browser(admin_a).get(reverse("admin:crm_opportunity_change", args=[deal.pk]))
    assert _messages(page) == [
        "This opportunity is deleted: restore it (the list's deleted opportunities) to change it."
    ]
