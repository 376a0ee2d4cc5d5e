"""The demo AI call provider of `make run`: a campaign launched in the demo ends with its
calls completed through the signed result webhook, logged on the leads' timelines."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from crm import demo_provider
from crm.choices import AICallStatus
from crm.models import AICall
from crm.providers import HTTPCallProvider, ProviderNotConfigured, get_provider
from leads.choices import InteractionType
from leads.models import Interaction
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.crm.test_jobs import jobs
from tests.factories import api_client
from tests.job_queue import run_worker

WEBHOOK = "http://127.0.0.1:8000/api/v1/webhooks/ai-calls/"


@pytest.fixture
def demo_mode(settings):
    settings.DEBUG = True
    settings.AI_CALL_DEMO_WEBHOOK_URL = WEBHOOK
    settings.AI_CALL_DEMO_DELAY_SECONDS = 0
    settings.AI_CALL_PROVIDER_URL = ""


class ServerAt:
    """`requests.post` to this server, answered by Django's test client; records calls."""

    def __init__(self):
        self.posted = []

    def __call__(self, url, *, data, headers, timeout):
        self.posted.append(url)
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        meta.pop("HTTP_CONTENT_TYPE")
        return Client().post(urlsplit(url).path, data=data, content_type="application/json", **meta)


def test_a_launched_campaign_ends_with_its_calls_on_the_timeline(live_org, demo_mode, monkeypatch):
    organization, admin, rep = live_org
    targets = [factories.lead(organization, assigned_to=rep) for _ in range(2)]
    factories.webhook_secret(organization)
    campaign = factories.campaign(organization)
    server = ServerAt()
    monkeypatch.setattr(demo_provider.requests, "post", server)

    response = api_client(admin, organization).post(f"/api/v1/campaigns/{campaign.pk}/launch/")
    assert response.status_code == 200, response.content
    run_worker("crm")  # the pass, then the calls placed
    run_worker("crm")  # the results reported
    assert [name for name, status, _ in jobs() if status == "succeeded"].count(
        "crm.demo_report_call"
    ) == 2
    assert server.posted == [WEBHOOK, WEBHOOK]
    with tenant_context(organization):
        calls = list(AICall.objects.all())
        assert {c.status for c in calls} == {AICallStatus.COMPLETED}
        assert {c.lead_id for c in calls} == {t.pk for t in targets}
        assert all(c.summary and c.outcome for c in calls)
        logged = Interaction.objects.filter(type=InteractionType.AI_CALL)
        assert set(logged.values_list("lead_id", flat=True)) == {t.pk for t in targets}


def test_the_same_call_placed_again_is_the_same_call(live_org, demo_mode):
    request = demo_provider_request(live_org[0])
    provider = get_provider()
    assert provider.start_call(request) == provider.start_call(request)
    assert [name for name, *_ in jobs()] == ["crm.demo_report_call"]  # reported once


def test_the_demo_provider_is_never_used_without_debug(settings):
    settings.DEBUG = False
    settings.AI_CALL_DEMO_WEBHOOK_URL = WEBHOOK
    settings.AI_CALL_PROVIDER_URL = "https://calls.example.com/v1"
    assert isinstance(get_provider(), HTTPCallProvider)
    settings.AI_CALL_PROVIDER_URL = ""
    with pytest.raises(ProviderNotConfigured):
        get_provider()


def demo_provider_request(organization):
    from crm.providers import CallRequest

    return CallRequest(
        reference="4b7c0a43-5a3c-4c2e-9d53-0a4f4f0b8f10",
        phone="+441632960001",
        contact_name="Pat",
        company_name="Trade Co",
        script="Hello",
        timezone="Europe/London",
        metadata={"organization_id": str(organization.pk)},
    )
