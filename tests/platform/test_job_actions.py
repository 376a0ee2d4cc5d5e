"""The job queue's actions on a real queue, as a platform super admin takes them from the
list: an AI call campaign's jobs, committed and run by a procrastinate worker (in this
process, through the production command's connector; the production worker process
where a job must be running meanwhile). A failed job retried runs again, a waiting one
cancelled never runs, and whatever an action cannot do (a running or finished job, a
second click, work queued again meanwhile) is refused on the list, nothing changed."""

from __future__ import annotations

import os
import re
from html import unescape

import pytest
from django.db import connection, transaction
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from crm import jobs as crm_jobs
from crm.choices import AICallStatus
from crm.models import AICall
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import admin_client
from tests.concurrency import Racer, wait_until_blocked
from tests.crm import factories
from tests.crm.conftest import committed, fake_provider, live_org  # noqa: F401 (fixtures)
from tests.factories import UserFactory, api_client
from tests.job_queue import run_worker
from tests.reliability.test_jobs_survive import wait_for
from tests.servers import ARTIFACTS_ROOT, job_worker, runtime_database_url

JOBS = reverse("admin:procrastinate_procrastinatejob_changelist")

# Each action, what its refusal leads with, and which jobs it takes.
ACTIONS = (
    ("retry_selected", "Nothing was retried.", "only a failed job is retried"),
    ("cancel_selected", "Nothing was cancelled.", "only a job waiting to run is cancelled"),
)


class ClientFault(Exception):
    """A fault of the provider's client, fixed since (not one its job retries)."""


def _broken(name):
    raise ClientFault("the provider's client is broken")


def _launched(organization, admin) -> None:
    """A campaign of one lead, launched: its pass is queued."""
    factories.lead(organization)
    factories.webhook_secret(organization)
    campaign = factories.campaign(organization)
    answer = api_client(admin, organization).post(f"/api/v1/campaigns/{campaign.pk}/launch/")
    assert answer.status_code == 200, answer.content


def _job(task_name: str) -> ProcrastinateJob:
    return ProcrastinateJob.objects.get(task_name=task_name)


def _events(job: ProcrastinateJob) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type FROM procrastinate_events WHERE job_id = %s ORDER BY id", [job.pk]
        )
        return [row[0] for row in cursor.fetchall()]


def _act(client, action: str, job: ProcrastinateJob) -> list[str]:
    """The list's action on the job, as the list's form posts it; the messages shown."""
    answer = client.post(JOBS, {"action": action, "_selected_action": [job.pk]}, follow=True)
    assert answer.status_code == 200
    return _shown(answer.content.decode())


def _shown(page: str) -> list[str]:
    """The messages of a page, as it shows them (read from the page: two clients at once
    each see the other's context)."""
    shown = re.findall(r'<li class="(?:success|error)">(.*?)</li>', page, re.S)
    return [unescape(message) for message in shown]


def _refusal(undone: str, job: ProcrastinateJob, why: str) -> list[str]:
    """The messages of an action refused for the job, nothing done."""
    return [f"{undone} “{job}”: {why}."]


@pytest.fixture
def platform_admin(committed):  # noqa: F811
    return UserFactory(is_superuser=True)


@pytest.fixture
def root(platform_admin):
    return admin_client(platform_admin)


def _failed(organization, admin, monkeypatch) -> ProcrastinateJob:
    """The campaign's call placed by a worker whose provider client was broken: its job
    failed."""
    _launched(organization, admin)
    with monkeypatch.context() as patched:
        patched.setattr(crm_jobs, "get_provider", _broken)
        run_worker("crm")
    failed = _job("crm.place_ai_call")
    assert failed.status == "failed"
    return failed


def test_a_failed_job_retried_runs_again_once(live_org, fake_provider, root, monkeypatch):  # noqa: F811
    organization, admin, _ = live_org
    failed = _failed(organization, admin, monkeypatch)
    assert fake_provider.placed_calls() == 0

    assert _act(root, "retry_selected", failed) == ["Retried 1 job(s)."]
    retried = _job("crm.place_ai_call")
    assert retried.status == "todo"
    # A second click finds it waiting to run: it is not queued twice.
    assert _act(root, "retry_selected", retried) == _refusal(
        "Nothing was retried.",
        retried,
        "only a failed job is retried, and this one is waiting to run",
    )
    assert _job("crm.place_ai_call").attempts == retried.attempts

    run_worker("crm")
    done = _job("crm.place_ai_call")
    assert done.status == "succeeded"
    assert _events(done)[-2:] == ["started", "succeeded"]
    assert fake_provider.placed_calls() == 1
    with tenant_context(organization):
        assert AICall.objects.get().status == AICallStatus.IN_PROGRESS


def _retry_click(client, job: ProcrastinateJob):
    return lambda: _act(client, "retry_selected", job)


@pytest.mark.usefixtures("fake_provider")
def test_two_clicks_at_once_retry_the_job_once(live_org, platform_admin, monkeypatch):  # noqa: F811
    organization, admin, _ = live_org
    failed = _failed(organization, admin, monkeypatch)
    clicks = [Racer(_retry_click(admin_client(platform_admin), failed)) for _ in range(2)]
    # Both wait for the job, which a worker holds; then the first click retries it.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_jobs WHERE id = %s FOR UPDATE", [failed.pk])
        for click in clicks:
            wait_until_blocked(click.start())
    answers = sorted(click.join().result or [repr(click.error)] for click in clicks)
    retried = _job("crm.place_ai_call")
    assert answers == [
        _refusal(
            "Nothing was retried.",
            retried,
            "only a failed job is retried, and this one is waiting to run",
        ),
        ["Retried 1 job(s)."],
    ]
    assert (retried.status, retried.attempts) == ("todo", failed.attempts + 1)


def test_a_retry_whose_work_is_queued_again_is_refused(live_org, fake_provider, root, monkeypatch):  # noqa: F811
    organization, admin, _ = live_org
    failed = _failed(organization, admin, monkeypatch)
    with tenant_context(organization):
        call = AICall.objects.get()
    crm_jobs.defer_place_call(organization_id=organization.pk, ai_call_id=call.pk)

    assert _act(root, "retry_selected", failed) == _refusal(
        "Nothing was retried.",
        failed,
        f"a job with its queueing lock (crm.ai_call:{call.pk}) waits to run: it does the same work",
    )
    assert _job_statuses() == ["failed", "todo"]


def _job_statuses() -> list[str]:
    return list(
        ProcrastinateJob.objects.filter(task_name="crm.place_ai_call")
        .order_by("pk")
        .values_list("status", flat=True)
    )


def test_a_waiting_job_cancelled_never_runs(live_org, fake_provider, root):  # noqa: F811
    organization, admin, _ = live_org
    _launched(organization, admin)
    waiting = _job("crm.run_campaign")
    assert _act(root, "cancel_selected", waiting) == ["Cancelled 1 job(s)."]
    assert _act(root, "cancel_selected", waiting) == _refusal(
        "Nothing was cancelled.",
        waiting,
        "only a job waiting to run is cancelled, and this one was cancelled",
    )

    run_worker("crm")
    assert _job("crm.run_campaign").status == "cancelled"
    assert not ProcrastinateJob.objects.filter(task_name="crm.place_ai_call").exists()
    assert fake_provider.placed_calls() == 0


def test_a_running_job_is_neither_retried_nor_cancelled(live_org, fake_provider, root):  # noqa: F811
    organization, admin, _ = live_org
    # The provider takes its time to answer: the job placing the call runs meanwhile.
    fake_provider.answer(200, {"call_id": "prov-slow", "status": "queued"}, delay=8)
    env = {
        **os.environ,
        "DATABASE_URL": runtime_database_url(),
        "SMARTWEB_TESTING": "1",
        "AI_CALL_PROVIDER_URL": fake_provider.url,
        "AI_CALL_PROVIDER_KEY": "test-key",
    }
    log = ARTIFACTS_ROOT / "platform" / "job-actions-worker.log"
    with job_worker(env, log):
        _launched(organization, admin)
        wait_for(lambda: fake_provider.requests, 60, "the call to be placed")
        running = _job("crm.place_ai_call")
        assert running.status == "doing"
        for action, undone, taken in ACTIONS:
            why = f"{taken}, and this one is running"
            assert _act(root, action, running) == _refusal(undone, running, why)
            assert _job("crm.place_ai_call").status == "doing"
        wait_for(lambda: _job("crm.place_ai_call").status == "succeeded", 60, "the call placed")
    done = _job("crm.place_ai_call")
    for action, undone, taken in ACTIONS:
        why = f"{taken}, and this one has succeeded"
        assert _act(root, action, done) == _refusal(undone, done, why)
    assert _events(done) == ["deferred", "started", "succeeded"]
    assert fake_provider.placed_calls() == 1


def test_a_refusal_names_the_job_escaped(committed, root):  # noqa: F811
    hostile = '<img src=x onerror="alert(1)">'
    crm_jobs.defer_place_call(organization_id=hostile, ai_call_id=hostile)
    job = _job("crm.place_ai_call")
    answer = root.post(
        JOBS, {"action": "retry_selected", "_selected_action": [job.pk]}, follow=True
    )
    page = answer.content.decode()
    assert "<img src=x" not in page
    why = "only a failed job is retried, and this one is waiting to run"
    assert _shown(page) == _refusal("Nothing was retried.", job, why)
