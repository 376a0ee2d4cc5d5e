"""The job queue keeps the jobs that ended for a while, then deletes them with their events:
succeeded, cancelled and aborted ones after JOBS_FINISHED_DAYS, failed ones after
JOBS_FAILED_DAYS. Waiting and running jobs stay however old, and so does each task's last
finished job, which the health report reads. A batch per transaction; two purges at once
share the work, and a purge run again finds nothing more."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from smartweb import job_retention
from smartweb import jobs as platform_jobs
from tests.accounts.conftest import admin_client
from tests.concurrency import Racer
from tests.crm.conftest import committed, owner_connection  # noqa: F401 (fixture)
from tests.factories import UserFactory
from tests.job_queue import run_worker
from tests.notifications.test_worker import statuses

TASK = "tests.retention.work"
JOBS = reverse("admin:procrastinate_procrastinatejob_changelist")
# The states a job goes through to each status; any other: run, then ended so.
STEPS = {"todo": [], "doing": ["doing"], "cancelled": ["cancelled"]}


def _job(status: str, days_ago: float, task_name: str = TASK) -> int:
    """A job that reached `status` `days_ago` days ago, through the states a worker takes
    it through (procrastinate's triggers write its events), its events dated then."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args) VALUES"
            " ('tests', %s, '{}') RETURNING id",
            [task_name],
        )
        (job_id,) = cursor.fetchone()
        for step in STEPS.get(status, ["doing", status]):
            cursor.execute(
                "UPDATE procrastinate_jobs SET status = %s WHERE id = %s", [step, job_id]
            )
        cursor.execute(
            "UPDATE procrastinate_events SET at = %s WHERE job_id = %s",
            [timezone.now() - dt.timedelta(days=days_ago), job_id],
        )
    return job_id


def _jobs(task_name: str = TASK) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_jobs WHERE task_name = %s", [task_name])
        return {job_id for (job_id,) in cursor.fetchall()}


def _events(job_ids) -> dict[int, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT job_id, type FROM procrastinate_events WHERE job_id = ANY(%s) ORDER BY id",
            [list(job_ids)],
        )
        events: dict[int, list[str]] = {}
        for job_id, kind in cursor.fetchall():
            events.setdefault(job_id, []).append(kind)
        return events


@pytest.fixture
def retention(settings):
    settings.JOBS_FINISHED_DAYS = 7
    settings.JOBS_FAILED_DAYS = 30


@pytest.mark.django_db
def test_jobs_past_their_retention_go_with_their_events(retention):
    gone = {
        _job("succeeded", 8),
        _job("cancelled", 8),
        _job("aborted", 8),
        _job("failed", 31),
    }
    kept = {
        _job("failed", 29),
        _job("todo", 60),  # waiting since it was queued, long ago
        _job("doing", 60),  # running: the stalled-job check's to judge, not the purge's
        _job("succeeded", 6),
    }
    assert _events(gone)[min(gone)] == ["deferred", "started", "succeeded"]

    assert job_retention.purge() == {"succeeded": 1, "cancelled": 1, "aborted": 1, "failed": 1}
    assert _jobs() == kept
    assert _events(gone) == {}
    assert set(_events(kept)) == kept


@pytest.mark.django_db
def test_the_job_pages_after_a_purge(retention):
    gone = _job("succeeded", 8)
    kept = _job("succeeded", 1)
    root = admin_client(UserFactory(is_superuser=True))
    job_retention.purge()

    listed = root.get(JOBS, {"task_name": TASK}).context_data["cl"]
    assert [job.pk for job in listed.result_list] == [kept]
    assert listed.result_count == 1
    assert "Type: succeeded" in _text(root.get(_page(kept)))
    # A page opened before the purge, reloaded: the admin says the job is gone.
    answer = root.get(_page(gone), follow=True)
    assert answer.status_code == 200
    assert f"ID “{gone}” doesn’t exist. Perhaps it was deleted?" in _text(answer)


def _page(job_id: int) -> str:
    return reverse("admin:procrastinate_procrastinatejob_change", args=[job_id])


def _text(answer) -> str:
    """A page's text as a reader sees it, without its tags."""
    return " ".join(re.sub(r"<[^>]+>", " ", answer.content.decode()).split())


@pytest.mark.django_db
def test_each_tasks_last_finished_job_is_kept_for_the_health_report(retention):
    healed, lapsed, once = (f"tests.retention.{name}" for name in ("healed", "lapsed", "once"))
    failure = _job("failed", 20, healed)
    last_success = _job("succeeded", 10, healed)
    _job("succeeded", 50, lapsed)
    last_failure = _job("failed", 40, lapsed)
    only = _job("succeeded", 400, once)

    def report() -> list[str]:
        with connection.cursor() as cursor:
            return [name for name in platform_jobs.failed_tasks(cursor) if name in names]

    names = {healed, lapsed, once}
    before = report()
    assert job_retention.purge() == {"succeeded": 1}
    assert report() == before == [lapsed]
    assert _jobs(healed) == {failure, last_success}
    assert _jobs(lapsed) == {last_failure}
    assert _jobs(once) == {only}


@pytest.mark.django_db
def test_a_batch_deletes_no_more_than_its_limit_and_a_second_run_nothing(retention):
    old = [_job("succeeded", 8) for _ in range(5)]
    _job("succeeded", 1)

    deleted = [batch.total() for batch in job_retention.batches(limit=2)]
    assert max(deleted) == 2 and sum(deleted) == 5
    assert _jobs().isdisjoint(old)
    assert job_retention.purge(limit=2) == {}


def test_a_purge_beside_another_neither_waits_nor_deletes_twice(committed, retention):  # noqa: F811
    old = [_job("succeeded", 8) for _ in range(6)]
    _job("succeeded", 1)
    held = old[1:3]
    # Another purge's batch holds two of them, not yet committed.
    with owner_connection() as other, other.transaction():
        other.execute("SELECT id FROM procrastinate_jobs WHERE id = ANY(%s) FOR UPDATE", [held])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")  # a wait for its locks would fail
        assert job_retention.purge(limit=2) == {"succeeded": 4}
    assert set(old) & _jobs() == set(held)
    # Its batch rolled back: the next run deletes them, and a run after it nothing.
    assert job_retention.purge(limit=2) == {"succeeded": 2}
    assert job_retention.purge(limit=2) == {}


def test_two_purges_at_once_delete_each_job_once(committed, retention):  # noqa: F811
    old = {_job("succeeded", 8) for _ in range(40)}
    _job("succeeded", 1)
    racers = [Racer(lambda: job_retention.purge(limit=3)).start() for _ in range(2)]
    for racer in racers:
        assert racer.join().error is None, racer.error
    assert sum(racer.result.total() for racer in racers) == 40
    assert _jobs().isdisjoint(old)


@pytest.mark.django_db
def test_the_command_says_what_it_deleted(retention, capsys):
    _job("succeeded", 8)
    _job("cancelled", 8)
    _job("failed", 8)
    _job("succeeded", 1)
    call_command("purge_job_queue")
    assert capsys.readouterr().out == (
        "Deleted 2 jobs that ended over 7 days ago, failed ones over 30"
        " (1 cancelled, 1 succeeded).\n"
    )
    call_command("purge_job_queue")
    assert capsys.readouterr().out == (
        "Deleted 0 jobs that ended over 7 days ago, failed ones over 30.\n"
    )


def test_the_purge_runs_as_a_job(committed, retention):  # noqa: F811
    _job("succeeded", 8)
    recent = _job("succeeded", 1)
    before = max(_jobs())
    platform_jobs.scheduled_command_jobs["purge_job_queue"].defer(timestamp=int(time.time()))
    run_worker("maintenance")
    assert _jobs() == {recent}
    assert statuses("smartweb.command.purge_job_queue", after=before) == ["succeeded"]
