"""A job worker killed (SIGKILL) mid-campaign, while the provider is starting a call, and
started again: the job it held is found stalled and retried, the call gets its provider
id without being placed twice (the retry carries the same idempotency key), every call's
result is recorded once, and the campaign completes with its last call."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import time
import uuid

import pytest
import requests
from django.db import connection

from accounts import services as account_services
from accounts.models import Organization, User
from crm.choices import AICallStatus, CampaignStatus
from crm.models import AICall, Campaign
from leads import services as lead_services
from leads.choices import InteractionType
from leads.models import Interaction
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.conftest import ARTIFACTS
from tests.reliability.test_faults import Outage
from tests.servers import job_worker

LEADS = 3
# Workers of this test write a heartbeat every second; one silent for 3 s is dead.
FAST_HEARTBEAT = {
    "JOBS_HEARTBEAT_SECONDS": "1",
    "JOBS_STALLED_AFTER_SECONDS": "3",
    "JOBS_STALLED_CHECK_SECONDS": "1",
}


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def place_job_status(call: AICall) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = 'crm.place_ai_call'"
            " AND args->>'ai_call_id' = %s ORDER BY id DESC LIMIT 1",
            [str(call.pk)],
        )
        row = cursor.fetchone()
    return row and row[0]


def deliver(live_url: str, organization: Organization, secret: str, payload: dict):
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-Organization": str(organization.pk),
        "X-Timestamp": stamp,
        "X-Signature": f"sha256={signature.hexdigest()}",
    }
    url = f"{live_url}/api/v1/webhooks/ai-calls/"
    return requests.post(url, data=body, headers=headers, timeout=30)


@pytest.fixture
def campaign(read, live_url):
    """A campaign of the demo organization calling three new leads (and no others)."""
    organization = Organization.objects.get(slug="demo")
    tag_name = f"survive-{uuid.uuid4().hex[:8]}"
    with tenant_context(organization):
        tag = lead_services.tag_create(acting_user=None, data={"name": tag_name})
    for _ in range(LEADS):
        factories.lead(organization, tags=[tag])
    return factories.campaign(organization, lead_filter={"tags": [tag_name]})


def calls_of(campaign: Campaign) -> list[AICall]:
    with tenant_context(campaign.organization_id):
        return list(AICall.objects.filter(campaign=campaign).order_by("created_at"))


def test_a_killed_worker_loses_no_call(live_url, server_env, provider, campaign):
    organization = Organization.objects.get(pk=campaign.organization_id)
    admin = User.objects.get(email="admin@demo.smartweb.test")
    with tenant_context(organization, user=admin):
        _, token = account_services.token_create(
            user=admin, organization_id=organization.pk, name="survive", expires_in_days=1
        )
    secret = factories.webhook_secret(organization)
    env = {**server_env, **FAST_HEARTBEAT}
    # The provider starts the first call but answers too late: the worker dies waiting.
    first_call_id = f"prov-slow-{uuid.uuid4().hex[:8]}"
    provider.answer(200, {"call_id": first_call_id, "status": "queued"}, delay=20)
    seen = len(provider.requests)

    with job_worker(env, ARTIFACTS / "worker-killed.log") as doomed:
        launched = requests.post(
            f"{live_url}/api/v1/campaigns/{campaign.pk}/launch/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert launched.status_code == 200, launched.text
        wait_for(lambda: len(provider.requests) > seen, 60, "the first call to be placed")
        # The call waiting on the slow answer (the worker places the others beside it).
        slow_key = provider.requests[seen]["headers"]["Idempotency-Key"]
        (first,) = [c for c in calls_of(campaign) if str(c.pk) == slow_key]
        assert place_job_status(first) == "doing"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        killed_at = time.monotonic()
    time.sleep(2)

    with job_worker(env, ARTIFACTS / "worker-restarted.log"):
        wait_for(lambda: place_job_status(first) == "succeeded", 90, "the stalled job's retry")
        recovered = time.monotonic() - killed_at
        print(f"\nstalled job recovered {recovered:.1f} s after its worker was killed")
        calls = wait_for(
            lambda: (
                (got := calls_of(campaign))
                and len(got) == LEADS
                and all(c.status == AICallStatus.IN_PROGRESS for c in got)
                and got
            ),
            60,
            "every call to be placed",
        )
        first = next(c for c in calls if c.pk == first.pk)
        assert first.provider_call_id == first_call_id
        # Placed once each: the retry sent the same idempotency key, so the same call.
        keys = [r["headers"]["Idempotency-Key"] for r in provider.requests[seen:]]
        assert set(keys) == {str(c.pk) for c in calls}
        assert len({c.provider_call_id for c in calls}) == LEADS

        for call in calls:
            report = {"call_id": call.provider_call_id, "status": "completed", "outcome": "other"}
            for expected in (True, False):  # the provider delivers twice
                answer = deliver(live_url, organization, secret, report)
                assert answer.status_code == 200, answer.text
                assert answer.json()["recorded"] is expected

    with tenant_context(organization):
        campaign.refresh_from_db()
        logged = Interaction.objects.filter(
            type=InteractionType.AI_CALL, ai_analysis__campaign_id=str(campaign.pk)
        ).count()
    assert campaign.status == CampaignStatus.COMPLETED
    assert logged == LEADS
    assert all(c.result_recorded_at is not None for c in calls_of(campaign))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")
        assert cursor.fetchone()[0] == 0


def registered_workers() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_workers")
        return {row[0] for row in cursor.fetchall()}


def test_the_worker_starts_again_after_losing_its_database(server_env, demo):
    """procrastinate's worker exits (status 0) when its connection is cut; the worker as
    the project runs it (smartweb.worker) is started again once the database is back."""
    before = registered_workers()
    with job_worker(server_env, ARTIFACTS / "worker-outage.log") as worker:
        first = wait_for(lambda: registered_workers() - before, 60, "the worker to start")
        outage = Outage()
        outage.begin()
        time.sleep(3)
        outage.end()
        again = wait_for(
            lambda: registered_workers() - before - first, 90, "the worker to start again"
        )
        assert worker.poll() is None
    assert again
