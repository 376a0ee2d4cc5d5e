"""Email and webhook deliveries under a job worker killed (SIGKILL) mid-batch and started
again, and under a database outage while they are sent: every message and event arrives
(at least once: only those in flight when the worker died may arrive twice, with the
same Message-ID or X-Webhook-Id: a message for each job it ran at once, one event for an
endpoint), each ends sent or delivered, and no job is left running for a dead worker."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from accounts.models import Organization
from mailing import services as mailing_services
from mailing.choices import MessageStatus
from mailing.models import EmailMessage
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.conftest import ARTIFACTS
from tests.reliability.test_faults import Outage
from tests.reliability.test_jobs_survive import FAST_HEARTBEAT, wait_for
from tests.servers import job_worker
from tests.smtp_sink import Sink, smtp_sink
from tests.webhooks.conftest import make_endpoint
from tests.webhooks.receiver import serve_receiver
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery

BATCH = 5


class SlowSink(Sink):
    """The mail server, taking `delay` seconds over each message's data; `receiving` is set
    once a message's data has arrived."""

    delay = 2.0

    def __init__(self):
        super().__init__()
        self.receiving = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.receiving.set()
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def organization(read, live_url):
    return Organization.objects.get(slug="demo")


@pytest.fixture
def mail(organization):
    with smtp_sink(SlowSink()) as running:
        yield running


def _env(server_env, **extra) -> dict:
    return {
        **server_env,
        **FAST_HEARTBEAT,
        "SITE_URL": "http://127.0.0.1",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",
        **extra,
    }


def _doing() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")
        return cursor.fetchone()[0]


def _queue_emails(organization) -> list[EmailMessage]:
    messages = []
    for _ in range(BATCH):
        lead = factories.lead(organization, contact_email=f"m-{uuid.uuid4().hex[:8]}@example.com")
        with tenant_context(organization):
            messages.append(
                mailing_services.email_send_to_lead(
                    lead=lead, acting_user=None, subject="Hello", body="A word."
                )
            )
    return messages


def _statuses(organization, messages) -> list[str]:
    with tenant_context(organization):
        return list(
            EmailMessage.objects.filter(pk__in=[m.pk for m in messages]).values_list(
                "status", flat=True
            )
        )


def test_a_worker_killed_while_sending_email_loses_no_message(organization, mail, server_env):
    sink, port = mail
    env = _env(server_env, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port))
    messages = _queue_emails(organization)
    with job_worker(env, ARTIFACTS / "worker-mail-killed.log") as doomed:
        assert sink.receiving.wait(60), "no message was sent"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    with job_worker(env, ARTIFACTS / "worker-mail-restarted.log"):
        wait_for(
            lambda: set(_statuses(organization, messages)) == {MessageStatus.SENT},
            90,
            "every message to be sent",
        )
        wait_for(lambda: _doing() == 0, 60, "no job left running")
    ids = Counter(m["Message-ID"] for m in sink.received)
    wanted = {m.message_id for m in messages}
    assert wanted <= set(ids)
    repeated = [i for i, n in ids.items() if i in wanted and n > 1]
    assert len(repeated) <= settings.JOBS_CONCURRENCY, ids


def test_a_worker_killed_while_delivering_webhooks_loses_no_event(organization, server_env):
    env = _env(server_env, WEBHOOK_TIMEOUT_SECONDS="10")
    with serve_receiver() as receiver:
        receiver.answer(200, delay=3, times=BATCH)
        endpoint = _endpoint(organization, receiver.url)
        for _ in range(BATCH):
            factories.lead(organization)
        with job_worker(env, ARTIFACTS / "worker-hooks-killed.log") as doomed:
            wait_for(lambda: receiver.requests, 60, "a delivery to start")
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
        with job_worker(env, ARTIFACTS / "worker-hooks-restarted.log"):
            wait_for(lambda: _pending(organization, endpoint) == 0, 90, "every delivery")
            wait_for(lambda: _doing() == 0, 60, "no job left running")
        ids = Counter(r["headers"]["X-Webhook-Id"] for r in receiver.requests)
    assert len(ids) == BATCH
    assert sum(n - 1 for n in ids.values()) <= 1, ids


def test_an_outage_while_delivering_email_and_webhooks_loses_nothing(organization, server_env):
    with smtp_sink() as (sink, port), serve_receiver() as receiver:
        env = _env(server_env, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port))
        receiver.answer(200, delay=1, times=BATCH)
        endpoint = _endpoint(organization, receiver.url)
        with job_worker(env, ARTIFACTS / "worker-engagement-outage.log"):
            messages = _queue_emails(organization)  # and a lead.created event each
            wait_for(lambda: receiver.requests, 60, "a delivery to start")
            outage = Outage()
            outage.begin()
            time.sleep(3)
            outage.end()
            wait_for(
                lambda: set(_statuses(organization, messages)) == {MessageStatus.SENT},
                120,
                "every message to be sent",
            )
            wait_for(lambda: _pending(organization, endpoint) == 0, 120, "every delivery")
            wait_for(lambda: _doing() == 0, 60, "no job left running")
        wanted = {m.message_id for m in messages}
        assert wanted <= {m["Message-ID"] for m in sink.received}
        assert len({r["headers"]["X-Webhook-Id"] for r in receiver.requests}) == BATCH


def _endpoint(organization, url):
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
        return make_endpoint(organization, url, event_types=[EventType.LEAD_CREATED])


def _pending(organization, endpoint) -> int:
    with tenant_context(organization):
        return Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).count()
