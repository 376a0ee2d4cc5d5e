"""The default HTTP provider client against a real HTTP server on 127.0.0.1."""

import socket

import pytest

from crm.providers import (
    CallRequest,
    HTTPCallProvider,
    ProviderNotConfigured,
    ProviderRejected,
    ProviderUnavailable,
    get_provider,
)

REQUEST = CallRequest(
    reference="5d1c1c1e-0000-4000-8000-000000000001",
    phone="+441632960001",
    contact_name="Dana Drip",
    company_name="Drip Drop Plumbing",
    script="Offer a website.",
    timezone="Europe/London",
    metadata={"campaign_id": "c-1"},
)


def test_start_call_posts_json_with_key_and_idempotency_key(fake_provider):
    started = get_provider("http").start_call(REQUEST)
    assert started.provider_call_id == "prov-call-1" and started.status == "queued"
    (sent,) = fake_provider.requests
    assert sent["path"] == "/v1/calls"
    assert sent["headers"]["Authorization"] == "Bearer test-key"
    assert sent["headers"]["Idempotency-Key"] == REQUEST.reference
    assert sent["json"]["phone"] == "+441632960001"
    assert sent["json"]["metadata"] == {"campaign_id": "c-1"}


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_temporary(fake_provider, status):
    fake_provider.answer(status, {"error": "busy"})
    with pytest.raises(ProviderUnavailable):
        get_provider().start_call(REQUEST)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_are_refusals(fake_provider, status):
    fake_provider.answer(status, {"error": "no"})
    with pytest.raises(ProviderRejected):
        get_provider().start_call(REQUEST)


@pytest.mark.parametrize("body", ["not json", {"no_call_id": 1}, {"call_id": ""}])
def test_unreadable_answers_are_temporary(fake_provider, body):
    fake_provider.answer(200, body)
    with pytest.raises(ProviderUnavailable):
        get_provider().start_call(REQUEST)


def test_a_slow_provider_times_out(fake_provider, settings):
    fake_provider.answer(200, {"call_id": "late"}, delay=1.0)
    provider = HTTPCallProvider(
        base_url=settings.AI_CALL_PROVIDER_URL, api_key="k", timeout=(1.0, 0.2)
    )
    with pytest.raises(ProviderUnavailable):
        provider.start_call(REQUEST)


def test_an_unreachable_provider_is_temporary():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = HTTPCallProvider(base_url=f"http://127.0.0.1:{port}", api_key="k")
    with pytest.raises(ProviderUnavailable):
        provider.start_call(REQUEST)


def test_no_url_means_not_configured(settings):
    settings.AI_CALL_PROVIDER_URL = ""
    with pytest.raises(ProviderNotConfigured):
        get_provider()
    with pytest.raises(ProviderNotConfigured):
        get_provider("carrier-pigeon")
