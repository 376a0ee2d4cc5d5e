"""The job queue against the real database: a launched campaign's jobs are run by an
in-process procrastinate worker, place calls with the provider (a local HTTP server),
retry while it is unavailable, and the webhook closes the loop."""

from django.db import connection
from django.test import Client

from crm.choices import AICallStatus, CampaignStatus, TaskType
from crm.jobs import PLACE_CALL_RETRY
from crm.models import AICall, Campaign, Task
from leads.choices import InteractionType
from leads.models import Interaction, Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import api_client
from tests.job_queue import run_worker


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
