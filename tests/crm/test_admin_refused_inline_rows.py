"""A pipeline page whose save is refused while another change holds the pipeline and its
stages shows the form again as typed, its stage rows too, at once: the rows are not
checked against their versions again (each check waits for the held row's lock)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm import services
from crm.models import Pipeline, PipelineStage
from smartweb import outage
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.concurrency import second_connection
from tests.html_forms import form_data
from tests.leads.test_admin_refused_saves import short_lock_timeout

TYPED_NAME = "First call booked"


@pytest.fixture
def pipeline_page():
    """A committed organization (another session must see its rows), its admin and a
    pipeline with its standard stages."""
    organization = factories.make_organization("Refused Stage Rows")
    with tenant_context(organization):
        pipeline = services.pipeline_create(name="Installs", acting_user=None)
    return organization, factories.org_admin(organization), pipeline


def _stages(organization, pipeline) -> list[tuple]:
    with tenant_context(organization):
        return list(
            PipelineStage.objects.filter(pipeline=pipeline)
            .order_by("position")
            .values_list("name", "updated_at")
        )


@pytest.mark.django_db(transaction=True)
def test_a_save_refused_while_its_stages_are_held_keeps_the_typed_rows(client, pipeline_page):
    organization, admin, pipeline = pipeline_page
    stages_before = _stages(organization, pipeline)
    page = reverse("admin:crm_pipeline_change", args=[pipeline.pk])
    client.force_login(admin)
    data = form_data(client.get(page).content.decode(), "pipeline_form")
    data["stages-0-name"] = [TYPED_NAME]
    stage_ids = [data[f"stages-{i}-id"][0] for i in range(len(stages_before))]
    with (
        second_connection(organization) as other,
        other.transaction(),
        short_lock_timeout(),
    ):
        other.execute("SELECT id FROM crm_pipeline WHERE id = %s FOR UPDATE", [pipeline.pk])
        other.execute("SELECT id FROM crm_pipelinestage WHERE id = ANY(%s) FOR UPDATE", [stage_ids])
        answer = client.post(page, data)
    # The refusal above the form, the typed stage name in its row: not a 503.
    assert answer.status_code == 200
    assert answer.context["adminform"].form.non_field_errors() == [outage.LOCK_TIMEOUT_MESSAGE]
    assert TYPED_NAME in answer.content.decode()
    assert _stages(organization, pipeline) == stages_before
    # Sent again from the page shown, the locks gone: saved.
    again = client.post(page, form_data(answer.content.decode(), "pipeline_form"))
    assert again.status_code == 302
    assert _stages(organization, pipeline)[0][0] == TYPED_NAME
    with tenant_context(organization):
        assert Pipeline.objects.get(pk=pipeline.pk).name == "Installs"
