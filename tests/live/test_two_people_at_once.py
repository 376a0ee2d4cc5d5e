"""Two people in two browsers on the same record: the second to save a record the first
changed since it was opened is told what changed and by whom, their input kept; a stage
of a pipeline renamed meanwhile is not named back by the other's save of the pipeline; a
record deleted while the other had it open is not saved, and they are told so."""

from __future__ import annotations

from django.urls import reverse

from crm import services
from crm.models import PipelineStage, Task
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.live import pages

ADMIN = pages.email_of("admin")


def _both_signed_in(browser, other_browser, *, first_page: str, second_page: str) -> None:
    """The demo admin in two browsers, each on its page."""
    browser.login(ADMIN)
    other_browser.login(ADMIN)
    browser.open(first_page)
    other_browser.open(second_page)


def test_the_second_to_save_a_task_is_told_and_keeps_their_input(browser, other_browser, read):
    organization = pages.demo_organization()
    task = factories.task(organization, title="Call the plumber")
    page = reverse("admin:crm_task_change", args=[task.pk])
    _both_signed_in(browser, other_browser, first_page=page, second_page=page)
    browser.fill("title", "Call the plumber back")
    other_browser.fill("description", "Ask about the boiler")
    browser.save()
    assert browser.errors() == []
    other_browser.save()
    assert (
        f"This task was changed by {ADMIN} since you opened it: title is now “Call the plumber"
        " back”. Your input is kept below: check it, and save again to replace those changes."
    ) in other_browser.errors()
    assert other_browser.find("[name='description']").get_attribute("value") == (
        "Ask about the boiler"
    )
    with tenant_context(organization):
        stored = Task.objects.get(pk=task.pk)
        assert (stored.title, stored.description) == ("Call the plumber back", "")
    # Saved again, knowingly: the page as the second person left it.
    other_browser.save()
    assert other_browser.errors() == []
    with tenant_context(organization):
        stored = Task.objects.get(pk=task.pk)
        assert (stored.title, stored.description) == ("Call the plumber", "Ask about the boiler")


def test_a_stage_renamed_meanwhile_is_not_named_back(browser, other_browser, read):
    organization = pages.demo_organization()
    with tenant_context(organization):
        pipeline = services.pipeline_create(name="Two people's pipeline", acting_user=None)
        first, second = pipeline.stages.order_by("position")[:2]
    page = reverse("admin:crm_pipeline_change", args=[pipeline.pk])
    _both_signed_in(browser, other_browser, first_page=page, second_page=page)
    browser.fill("stages-0-name", "First contact")
    other_browser.fill("stages-1-probability", "33")
    browser.save()
    assert browser.errors() == []
    other_browser.save()
    assert any(
        "This pipeline stage was changed by" in error and "name is now “First contact”" in error
        for error in other_browser.errors()
    )
    with tenant_context(organization):
        assert PipelineStage.objects.get(pk=first.pk).name == "First contact"
        assert PipelineStage.objects.get(pk=second.pk).probability == second.probability


def test_a_lead_deleted_while_open_is_not_saved(browser, other_browser, read):
    organization = pages.demo_organization()
    lead = factories.lead(organization)
    page = reverse("admin:leads_lead_change", args=[lead.pk])
    deletion = reverse("admin:leads_lead_delete", args=[lead.pk])
    _both_signed_in(browser, other_browser, first_page=page, second_page=deletion)
    other_browser.click("#content form input[type=submit]")
    browser.fill("notes", "Typed while it was deleted")
    browser.save()
    refused = f"This lead was deleted by {ADMIN} since you opened it: nothing was saved."
    assert any(message.startswith(refused) for message in browser.messages())
    # Its page shows it as deleted, with nothing to save.
    assert not browser.exists("input[name='_save'], input[name='_continue']")
    with tenant_context(organization):
        stored = Lead.all_objects.get(pk=lead.pk)
        assert stored.deleted_at is not None and stored.notes == lead.notes
