"""The job queue run inside a test, on committed data: an in-process procrastinate worker
through the production command's connector."""

from __future__ import annotations

from django.db import connection
from procrastinate.contrib.django import app

from tests.conftest import _as_owner


def run_worker(*queues: str, concurrency: int = 1) -> None:
    """Run the jobs queued in `queues` that are due, then stop. One at a time unless asked
    otherwise: the worker stops when it finds nothing to start, so a job queued by a
    running one is run in the same pass only if nothing else was running beside it."""
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(
            queues=list(queues),
            wait=False,
            concurrency=concurrency,
            install_signal_handlers=False,
            listen_notify=False,
        )


def empty_queue() -> None:
    """Remove every job, as a test that counts the queue's jobs starts from none: the
    queue is no model, so the flush after a transactional test leaves other tests' jobs."""
    with _as_owner(), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers"
        )
