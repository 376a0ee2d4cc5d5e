"""A delete the services refuse is a refusal the user reads, not a server error: from a
row's page, the row's page again with the reason; from the list's "Delete selected",
nothing deleted and every refused row named with its reason. Nothing is written either
way (smartweb.admin_deletes)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from crm import services
from crm.models import Pipeline
from smartweb.tenancy.context import tenant_context
from tests.factories import admin_browser

pytestmark = pytest.mark.django_db

DEFAULT_REFUSED = "Make another pipeline the default before deleting this one."


def _pipelines(organization):
    """The default pipeline, which the service refuses to delete, and one that may go.
    (One holding deals is refused by Django's own page first, which lists them.)"""
    with tenant_context(organization):
        default = Pipeline.objects.get(is_default=True)
        idle = services.pipeline_create(name="Old offers", acting_user=None)
    return default, idle


def _state(organization) -> dict:
    """Each pipeline's trash mark and how many history rows they have."""
    with tenant_context(organization):
        return {
            "deleted": dict(Pipeline.all_objects.values_list("name", "deleted_at")),
            "history": Pipeline.history.count(),
        }


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_refused_delete_from_its_page_shows_why_on_the_page(org_a, admin_a):
    pipeline, _ = _pipelines(org_a)
    before = _state(org_a)
    client = admin_browser(admin_a)
    page = reverse("admin:crm_pipeline_delete", args=[pipeline.pk])
    assert "Are you sure" in client.get(page).content.decode()

    response = client.post(page, {"post": "yes"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:crm_pipeline_change", args=[pipeline.pk])
    assert _messages(response) == [f"Not deleted: {DEFAULT_REFUSED}"]
    assert _state(org_a) == before


def test_the_list_deletes_none_when_one_is_refused_and_names_it(org_a, admin_a):
    default, idle = _pipelines(org_a)
    before = _state(org_a)
    client = admin_browser(admin_a)
    changelist = reverse("admin:crm_pipeline_changelist")
    selected = {
        "action": "delete_selected",
        "_selected_action": [str(row.pk) for row in (default, idle)],
    }
    assert "Are you sure" in client.post(changelist, selected).content.decode()

    response = client.post(changelist, {**selected, "post": "yes"})
    assert response.status_code == 302
    assert _messages(response) == [f"Nothing was deleted. “{default.name}”: {DEFAULT_REFUSED}"]
    assert _state(org_a) == before
    client.get(response["Location"])  # the list, as the browser shows it next

    # Left out, the one that may go goes.
    only_idle = {"action": "delete_selected", "_selected_action": [str(idle.pk)], "post": "yes"}
    response = client.post(changelist, only_idle)
    assert _messages(response) == ["Successfully deleted 1 pipeline."]
    assert _state(org_a)["deleted"][idle.name] is not None
