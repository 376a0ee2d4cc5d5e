"""AI call providers: the interface the campaign jobs call, and the default HTTP client.

The HTTP provider is configured by `AI_CALL_PROVIDER_URL` and `AI_CALL_PROVIDER_KEY`
(Django settings or the environment). It starts a call with

    POST {URL}/calls
    Authorization: Bearer {KEY}
    Idempotency-Key: {our AI call id}
    {"reference": …, "phone": …, "contact_name": …, "company_name": …, "script": …,
     "timezone": …, "metadata": {"organization_id": …, "campaign_id": …}}

and expects `{"call_id": "…", "status": "queued"}` back. The result arrives later by the
signed webhook (`crm.api.webhooks`), which carries our reference back. The idempotency
key makes a retried job safe: the provider answers a repeated key with the call it
already started. A job that dies after the provider started the call loses nothing: its
retry gets the same call back, and the webhook finds the call by its reference.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Protocol

import requests
from django.conf import settings

# (connect, read) seconds: a provider that does not answer must not hold a worker.
DEFAULT_TIMEOUT = (3.05, 15)


class ProviderError(Exception):
    """The provider did not start the call."""


class ProviderUnavailable(ProviderError):
    """A temporary failure (network, timeout, 5xx, 429): the job retries."""


class ProviderRejected(ProviderError):
    """The provider refused the request (4xx): retrying would not help."""


class ProviderNotConfigured(ProviderError):
    """No provider URL is configured."""


@dataclass(frozen=True)
class CallRequest:
    reference: str
    phone: str
    contact_name: str
    company_name: str
    script: str
    timezone: str
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CallStarted:
    provider_call_id: str
    status: str = "queued"


class CallProvider(Protocol):
    name: str

    def start_call(self, request: CallRequest) -> CallStarted: ...


class HTTPCallProvider:
    """The default provider: a JSON API over HTTPS with a bearer key."""

    name = "http"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()

    def start_call(self, request: CallRequest) -> CallStarted:
        try:
            response = self.session.post(
                f"{self.base_url}/calls",
                json=asdict(request),
                headers={
                    "Authorization": f"Bearer {self.api_key}",
                    "Idempotency-Key": request.reference,
                    "Accept": "application/json",
                },
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"The AI call provider is unreachable: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderUnavailable(f"The AI call provider answered {response.status_code}.")
        if response.status_code >= 400:
            raise ProviderRejected(
                f"The AI call provider refused the call ({response.status_code}):"
                f" {response.text[:300]}"
            )
        try:
            body = response.json()
            call_id = str(body["call_id"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderUnavailable("The AI call provider sent an unreadable answer.") from exc
        if not call_id or len(call_id) > 120:
            raise ProviderUnavailable("The AI call provider sent no usable call id.")
        return CallStarted(provider_call_id=call_id, status=str(body.get("status") or "queued"))


def _setting(name: str) -> str:
    return getattr(settings, name, None) or os.environ.get(name, "")


def get_provider(name: str = HTTPCallProvider.name) -> CallProvider:
    """The configured provider called `name` (only "http" ships with the product), or
    the local demo provider when `AI_CALL_DEMO_WEBHOOK_URL` is set with DEBUG on."""
    from crm import demo_provider  # it queues jobs: imported when used

    if demo_provider.webhook_url():
        return demo_provider.DemoCallProvider()
    if name != HTTPCallProvider.name:
        raise ProviderNotConfigured(f"Unknown AI call provider '{name}'.")
    url = _setting("AI_CALL_PROVIDER_URL")
    if not url:
        raise ProviderNotConfigured("Set AI_CALL_PROVIDER_URL to enable AI call campaigns.")
    return HTTPCallProvider(base_url=url, api_key=_setting("AI_CALL_PROVIDER_KEY"))
