"""A restore that a unique rule refuses (a name another row has taken since the row was
deleted) is a refusal the user reads, not a server error: the list's "Restore selected"
restores none of the chosen rows, names each refused one and what it would duplicate,
and writes nothing; left out, the others are restored. The API's restore answers the same
words with its 409 (smartweb.unique_clashes)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from crm import services
from crm.models import Opportunity, Pipeline
from leads import services as lead_services
from leads.models import Tag
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.factories import admin_browser, api_client

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
