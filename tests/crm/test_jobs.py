"""The job queue against the real database: a launched campaign's jobs are run by an
in-process procrastinate worker, place calls with the provider (a local HTTP server),
retry while it is unavailable, and the webhook closes the loop. A pass or a call whose
queueing is lost after its commit is queued by the minute's sweep, and placed once."""

import contextlib
import logging

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException

from crm import jobs as crm_jobs
from crm import services
from crm.choices import AICallStatus, CampaignStatus, TaskType
from crm.jobs import PLACE_CALL_RETRY
from crm.models import AICall, Campaign, Task
from leads.choices import InteractionType
from leads.models import Interaction, Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import api_client
from tests.job_queue import empty_queue, run_worker


@pytest.fixture(autouse=True)
def no_earlier_jobs(transactional_db):
    empty_queue()


def jobs() -> list[tuple[str, str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name, status, attempts FROM procrastinate_jobs ORDER BY id")
        return cursor.fetchall()


def make_waiting_jobs_due() -> None:
    """Retries and next passes wait in the queue; bring them forward to now."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")


def test_campaign_to_calls_to_webhook_to_task_and_new_score(live_org, fake_provider):
    organization, admin, rep = live_org
    targets = [factories.lead(organization, assigned_to=rep) for _ in range(3)]
    factories.lead(organization, consent=False)
    secret = factories.webhook_secret(organization)
    campaign = factories.campaign(organization)

    response = api_client(admin, organization).post(f"/api/v1/campaigns/{campaign.pk}/launch/")
    assert response.status_code == 200, response.content
    assert jobs() == [("crm.run_campaign", "todo", 0)]

    run_worker("crm")
    finished = [(name, status) for name, status, _ in jobs()]
    assert finished.count(("crm.place_ai_call", "succeeded")) == 3
    assert ("crm.run_campaign", "succeeded") in finished
    assert ("crm.run_campaign", "todo") in finished  # the next pass waits
    assert len(fake_provider.requests) == 3
    with tenant_context(organization):
        calls = list(AICall.objects.select_related("lead"))
    assert {c.lead_id for c in calls} == {t.pk for t in targets}
    assert {c.status for c in calls} == {AICallStatus.IN_PROGRESS}
    assert all(c.provider_call_id.startswith("prov-call-") for c in calls)
    # Each call's history names the job that placed it, with no client address.
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_jobs WHERE task_name = 'crm.place_ai_call'")
        job_ids = {f"job:crm.place_ai_call:{row[0]}" for row in cursor.fetchall()}
    with tenant_context(organization):
        started = AICall.history.filter(status=AICallStatus.IN_PROGRESS)
        assert set(started.values_list("history_request_id", flat=True)) == job_ids
        assert not started.filter(history_ip_address__isnull=False).exists()
    # The queue holds ids only, never the lead's personal data.
    with connection.cursor() as cursor:
        cursor.execute("SELECT args::text FROM procrastinate_jobs")
        arguments = " ".join(row[0] for row in cursor.fetchall())
    assert "01632" not in arguments and "Pat " not in arguments

    scores = {}
    for call in calls:
        scores[call.lead_id] = call.lead.lead_score
        outcome = "meeting_booked" if call is calls[0] else "not_interested"
        answer = factories.deliver(
            Client(),
            organization,
            secret,
            {"call_id": call.provider_call_id, "status": "completed", "outcome": outcome},
        )
        assert answer.status_code == 200, answer.content

    with tenant_context(organization):
        assert Interaction.objects.filter(type=InteractionType.AI_CALL).count() == 3
        task = Task.objects.get()
        assert task.type == TaskType.MEETING and task.lead_id == calls[0].lead_id
        booked = Lead.objects.get(pk=calls[0].lead_id)
        assert booked.lead_score > scores[booked.pk]

    make_waiting_jobs_due()
    run_worker("crm")
    with tenant_context(organization):
        assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED


def test_an_unavailable_provider_is_retried(live_org, fake_provider):
    organization, admin, _ = live_org
    factories.lead(organization)
    factories.webhook_secret(organization)
    campaign = factories.campaign(organization)
    fake_provider.answer(503, {"error": "busy"})
    api_client(admin, organization).post(f"/api/v1/campaigns/{campaign.pk}/launch/")

    run_worker("crm")
    assert ("crm.place_ai_call", "todo", 1) in jobs()  # failed once, waiting to retry
    with tenant_context(organization):
        assert AICall.objects.get().status == AICallStatus.QUEUED

    make_waiting_jobs_due()
    run_worker("crm")
    assert ("crm.place_ai_call", "succeeded", 2) in jobs()
    with tenant_context(organization):
        call = AICall.objects.get()
        assert call.status == AICallStatus.IN_PROGRESS and call.provider_call_id
    # Both attempts carried the same idempotency key: the provider places one call.
    keys = {r["headers"]["Idempotency-Key"] for r in fake_provider.requests}
    assert keys == {str(call.pk)} and len(fake_provider.requests) == 2


def test_a_refused_call_fails_without_retrying(live_org, fake_provider):
    organization, admin, _ = live_org
    factories.lead(organization)
    factories.webhook_secret(organization)
    campaign = factories.campaign(organization)
    fake_provider.answer(422, {"error": "number not allowed"})
    api_client(admin, organization).post(f"/api/v1/campaigns/{campaign.pk}/launch/")
    run_worker("crm")
    assert ("crm.place_ai_call", "succeeded", 1) in jobs()
    with tenant_context(organization):
        call = AICall.objects.get()
        assert call.status == AICallStatus.FAILED and "422" in call.failure_reason


def test_the_last_failed_attempt_fails_the_call(live_org, fake_provider):
    attempts = PLACE_CALL_RETRY.max_attempts + 1  # the first try and every retry
    organization, admin, _ = live_org
    factories.lead(organization)
    factories.webhook_secret(organization)
    campaign = factories.campaign(organization)
    for _ in range(attempts):
        fake_provider.answer(500, {"error": "down"})
    api_client(admin, organization).post(f"/api/v1/campaigns/{campaign.pk}/launch/")
    for _ in range(attempts):
        run_worker("crm")
        make_waiting_jobs_due()
    assert ("crm.place_ai_call", "failed", attempts) in jobs()
    with tenant_context(organization):
        call = AICall.objects.get()
        assert call.status == AICallStatus.FAILED and "500" in call.failure_reason


def lost(**kwargs):
    """A queueing after the commit, with the database lost in between."""
    raise ConnectorException("terminating connection due to administrator command")


def settle(organization, model) -> None:
    """Written a while ago: the sweep takes work with no job as queueing lost only once it
    is older than UNQUEUED_AFTER (younger work may be between its commit and its queueing)."""
    with tenant_context(organization):
        model.objects.update(updated_at=F("updated_at") - services.UNQUEUED_AFTER)


def sweep() -> None:
    # As the periodic schedule does every minute; a run of it queued already (by an
    # earlier worker's clock) holds its queueing lock, and does the same in this pass.
    with contextlib.suppress(AlreadyEnqueued):
        crm_jobs.sweep.defer(timestamp=0)
    run_worker("crm")


def queued(task_name: str) -> int:
    return sum(1 for name, status, _ in jobs() if name == task_name and status == "todo")


def test_a_launch_whose_pass_cannot_be_queued_succeeds_and_the_sweep_runs_it(
    live_org, fake_provider, monkeypatch, caplog
):
    organization, admin, _ = live_org
    targets = [factories.lead(organization) for _ in range(2)]
    factories.webhook_secret(organization)
    campaign = factories.campaign(organization)
    monkeypatch.setattr(crm_jobs, "defer_campaign_run", lost)

    with caplog.at_level(logging.ERROR, logger="django.db.backends.base"):
        response = api_client(admin, organization).post(f"/api/v1/campaigns/{campaign.pk}/launch/")
    assert response.status_code == 200, response.content
    assert "administrator command" in caplog.text  # logged, not answered
    with tenant_context(organization):
        assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.ACTIVE
    assert jobs() == []

    monkeypatch.undo()
    sweep()  # just launched: its pass may still be on its way to the queue
    assert queued("crm.run_campaign") == 0 and not fake_provider.requests
    settle(organization, Campaign)
    sweep()
    assert len(fake_provider.requests) == 2
    with tenant_context(organization):
        calls = list(AICall.objects.all())
    assert {c.lead_id for c in calls} == {t.pk for t in targets}
    assert {c.status for c in calls} == {AICallStatus.IN_PROGRESS}
    assert queued("crm.run_campaign") == 1  # the next pass waits


def test_calls_whose_placing_cannot_be_queued_are_placed_by_the_sweep(
    live_org, fake_provider, monkeypatch
):
    organization, admin, _ = live_org
    for _ in range(2):
        factories.lead(organization)
    factories.webhook_secret(organization)
    campaign = factories.campaign(organization)
    api_client(admin, organization).post(f"/api/v1/campaigns/{campaign.pk}/launch/")
    monkeypatch.setattr(crm_jobs, "defer_place_call", lost)

    run_worker("crm")
    assert [(name, status) for name, status, _ in jobs() if name.startswith("crm.place_")] == []
    assert [(name, status) for name, status, _ in jobs() if name == "crm.run_campaign"] == [
        ("crm.run_campaign", "succeeded"),
        ("crm.run_campaign", "todo"),  # the pass is done, and the next one waits
    ]
    with tenant_context(organization):
        assert [c.status for c in AICall.objects.all()] == [AICallStatus.QUEUED] * 2

    monkeypatch.undo()
    settle(organization, AICall)
    sweep()
    assert len(fake_provider.requests) == 2 and fake_provider.placed_calls() == 2
    with tenant_context(organization):
        assert [c.status for c in AICall.objects.all()] == [AICallStatus.IN_PROGRESS] * 2
    assert queued("crm.run_campaign") == 1  # a pass waits already: the sweep added none


def test_the_sweep_queues_no_second_placing_beside_a_running_one(live_org, fake_provider):
    organization, admin, _ = live_org
    factories.lead(organization)
    factories.webhook_secret(organization)
    campaign = factories.campaign(organization)
    api_client(admin, organization).post(f"/api/v1/campaigns/{campaign.pk}/launch/")
    with tenant_context(organization):
        services.campaign_run(campaign=campaign)  # the call, its placing queued
    settle(organization, AICall)
    fake_provider.answer(200, {"call_id": "prov-call-slow", "status": "queued"}, delay=3)
    with contextlib.suppress(AlreadyEnqueued):
        crm_jobs.sweep.defer(timestamp=0)

    # The placing waits on the provider while the pass, then the sweep, run beside it.
    run_worker("crm", concurrency=2)
    assert [name for name, _, _ in jobs()].count("crm.place_ai_call") == 1
    assert len(fake_provider.requests) == 1
    with tenant_context(organization):
        call = AICall.objects.get()
    assert (call.status, call.provider_call_id) == (AICallStatus.IN_PROGRESS, "prov-call-slow")


def test_a_call_queued_twice_is_placed_once(live_org, fake_provider):
    organization, admin, _ = live_org
    factories.lead(organization)
    factories.webhook_secret(organization)
    campaign = factories.campaign(organization)
    with tenant_context(organization):
        services.campaign_launch(campaign=campaign, acting_user=None)
        services.campaign_run(campaign=campaign)
        call = AICall.objects.get()
    # A second job for the call: its queueing after the commit, come late, beside the
    # sweep's job already started. The two run one after the other.
    crm_jobs.place_ai_call.configure(lock=f"crm.ai_call:{call.pk}").defer(
        organization_id=str(organization.pk), ai_call_id=str(call.pk)
    )
    fake_provider.answer(200, {"call_id": "prov-call-once", "status": "queued"}, delay=1)

    run_worker("crm", concurrency=2)
    run_worker("crm")
    placings = [status for name, status, _ in jobs() if name == "crm.place_ai_call"]
    assert placings == ["succeeded", "succeeded"]
    assert len(fake_provider.requests) == 1
    with tenant_context(organization):
        call.refresh_from_db()
    assert (call.status, call.provider_call_id) == (AICallStatus.IN_PROGRESS, "prov-call-once")
