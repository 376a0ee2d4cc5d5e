"""An admin page's inline rows edited by two people at once, against four web workers:
a row someone changed or deleted while another had the page open is not undone by the
other's save, which is refused and says why (the parent's version does not cover rows
edited on their own: a pipeline's stages, a deal's tasks)."""

from __future__ import annotations

import uuid

from crm import services
from crm.choices import TaskStatus
from crm.models import Opportunity, Pipeline, PipelineStage, Task
from smartweb.tenancy.context import tenant_context
from tests.crm import factories


def _a_pipeline(demo_org) -> Pipeline:
    with tenant_context(demo_org):
        return services.pipeline_create(name=f"Pipeline {uuid.uuid4().hex[:6]}", acting_user=None)


def _row(form: dict, prefix: str, pk) -> str:
    """The index of the inline row of `pk` in a page's form."""
    return next(
        name.split("-")[1]
        for name, values in form.items()
        if name.startswith(f"{prefix}-") and name.endswith("-id") and values == [str(pk)]
    )


def test_a_stage_renamed_meanwhile_is_not_undone_by_another_save(
    demo_org, first, second, live_url, read
):
    pipeline = _a_pipeline(demo_org)
    page = f"/admin/crm/pipeline/{pipeline.pk}/change/"
    with tenant_context(demo_org):
        renamed, other = pipeline.stages.order_by("position")[:2]
    mine, theirs = first.form(page, "pipeline_form"), second.form(page, "pipeline_form")
    mine[f"stages-{_row(mine, 'stages', renamed.pk)}-name"] = "First contact"
    theirs[f"stages-{_row(theirs, 'stages', other.pk)}-probability"] = "33"
    assert first.post(page, mine).status_code == 302
    refused = second.post(page, theirs)
    # The second page's row of the renamed stage still held its old name: refused, named.
    assert refused.status_code == 200
    assert "This pipeline stage was changed by" in refused.text
    assert "name is now “First contact”" in refused.text
    with tenant_context(demo_org):
        assert PipelineStage.objects.get(pk=renamed.pk).name == "First contact"
        assert PipelineStage.objects.get(pk=other.pk).probability == other.probability
    # Saved again, the refused page replaces the rename knowingly, as a stale form does.
    again = second.post(page, second.form_of(refused, "pipeline_form"))
    assert again.status_code == 302
    with tenant_context(demo_org):
        assert PipelineStage.objects.get(pk=renamed.pk).name == renamed.name
        assert PipelineStage.objects.get(pk=other.pk).probability == 33


def test_a_stage_deleted_meanwhile_is_named_and_nothing_is_saved(
    demo_org, first, second, live_url, read
):
    pipeline = _a_pipeline(demo_org)
    page = f"/admin/crm/pipeline/{pipeline.pk}/change/"
    with tenant_context(demo_org):
        deleted = pipeline.stages.order_by("position")[1]
    mine, theirs = first.form(page, "pipeline_form"), second.form(page, "pipeline_form")
    mine[f"stages-{_row(mine, 'stages', deleted.pk)}-DELETE"] = "on"
    theirs[f"stages-{_row(theirs, 'stages', deleted.pk)}-name"] = "Brought back"
    theirs["description"] = "Changed with the page"
    assert first.post(page, mine).status_code == 302
    refused = second.post(page, theirs)
    assert refused.status_code == 200
    assert "A pipeline stage shown on this page was deleted since you opened it" in refused.text
    with tenant_context(demo_org):
        assert not PipelineStage.objects.filter(pk=deleted.pk).exists()
        assert not PipelineStage.objects.filter(name="Brought back").exists()
        assert Pipeline.objects.get(pk=pipeline.pk).description == ""


def test_a_task_completed_meanwhile_stays_done_when_its_deal_is_saved(
    demo_org, first, second, live_url, read
):
    deal = factories.opportunity(demo_org)
    task = factories.task(demo_org, opportunity=deal, lead=deal.lead)
    page = f"/admin/crm/opportunity/{deal.pk}/change/"
    deal_page = first.form(page, "opportunity_form")
    done = second.post(
        "/admin/crm/task/",
        {"action": "mark_done", "_selected_action": str(task.pk), "index": "0"},
    )
    assert done.status_code == 302
    deal_page["name"] = "Renamed with the task open on the page"
    refused = first.post(page, deal_page)
    assert refused.status_code == 200
    assert "This task was changed by" in refused.text
    with tenant_context(demo_org):
        stored = Task.objects.get(pk=task.pk)
        assert (stored.status, stored.completed_at is not None) == (TaskStatus.DONE, True)
        assert Opportunity.objects.get(pk=deal.pk).name == deal.name
