"""A stand-in AI call provider for local demos (`make run`), never for production.

With `AI_CALL_DEMO_WEBHOOK_URL` set (read only with DEBUG on), every campaign's calls go
to this provider instead of the HTTP one. It answers like a real provider (a call id, the
same one again for the same idempotency key) and, a few seconds later, reports each call's
result the way a real one does: a signed POST to the result webhook (that URL), with the
organization's webhook secret. The webhook then records the call, logs it on the lead's
timeline, creates the follow-up task and re-scores the lead, exactly as in production.

The report is a job of the job worker (`crm.jobs.demo_report_call`), retried while the server
is not yet answering. What the person "said" is drawn from the call's id, so a call's
result does not change when the report is sent again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json

import requests
from django.conf import settings
from procrastinate import RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from accounts.crypto import decrypt
from crm.models import AICall, AICallWebhookSecret
from crm.providers import CallRequest, CallStarted, ProviderUnavailable
from smartweb import signing
from smartweb.tenancy.context import tenant_context

# Waits 2, 4, 8 … seconds: `make run` starts the worker and the server together.
REPORT_RETRY = RetryStrategy(max_attempts=8, exponential_wait=2)
# outcome, sentiment, summary, next steps
CONVERSATIONS = (
    ("interested", "positive", "Gets few enquiries online; wants prices by email.",
     ["Email the price list", "Call back in a week"]),
    ("meeting_booked", "positive", "Happy to see example sites; visit booked.",
     ["Prepare three example sites"]),
    ("callback", "neutral", "On a job; asked to be called back tomorrow.",
     ["Call back tomorrow afternoon"]),
    ("not_interested", "negative", "Has all the work they can handle.", []),
)  # fmt: skip


def webhook_url() -> str:
    """Where the demo provider reports results, or "" when it is off."""
    return getattr(settings, "AI_CALL_DEMO_WEBHOOK_URL", "") if settings.DEBUG else ""


def delay_seconds() -> int:
    return int(getattr(settings, "AI_CALL_DEMO_DELAY_SECONDS", 5))


class DemoCallProvider:
    name = "demo"

    def start_call(self, request: CallRequest) -> CallStarted:
        from crm import jobs

        call_id = f"demo-{request.reference}"  # the same key gets the same call
        # Placed again (a retried job): its result is already on its way.
        with contextlib.suppress(AlreadyEnqueued):
            jobs.demo_report_call.configure(
                queueing_lock=f"crm.demo_report:{call_id}",
                schedule_in={"seconds": delay_seconds()},
            ).defer(
                organization_id=request.metadata["organization_id"],
                call_id=call_id,
                reference=request.reference,
            )
        return CallStarted(provider_call_id=call_id)


def call_report(*, call_id: str, reference: str, contact_name: str, company_name: str) -> dict:
    """The webhook body a provider would send for this call."""
    digest = hashlib.sha256(call_id.encode()).digest()
    outcome, sentiment, summary, next_steps = CONVERSATIONS[digest[0] % len(CONVERSATIONS)]
    now = dt.datetime.now(dt.UTC)
    duration = 45 + digest[1]
    person = contact_name or "the owner"
    report = {
        "call_id": call_id,
        "reference": reference,
        "status": "completed",
        "started_at": (now - dt.timedelta(seconds=duration)).isoformat(),
        "duration_seconds": duration,
        "transcript": f"Agent: Hello, is that {company_name}? May I speak to {person}?\n"
        f"{person}: Speaking.\nAgent: … \n(Summary: {summary})",
        "summary": summary,
        "sentiment": sentiment,
        "outcome": outcome,
        "cost": "0.12",
        "analysis": {"intent": outcome, "next_steps": next_steps},
    }
    if outcome == "callback":
        report["callback_at"] = (now + dt.timedelta(days=1)).isoformat()
    if outcome == "meeting_booked":
        report["meeting_at"] = (now + dt.timedelta(days=3)).isoformat()
    return report


def signed_headers(*, organization_id: str, secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Organization": organization_id,
        **signing.signed_headers(secret, body),
    }


def deliver_report(*, organization_id: str, call_id: str, reference: str) -> int:
    """Send the call's result to the webhook, signed; the job (crm.jobs) retries on a
    ProviderUnavailable. The job's arguments are ids only (the queue holds no personal
    data): the names the conversation uses are read from the call."""
    url = webhook_url()
    if not url:
        return 0  # the demo provider was switched off meanwhile
    with tenant_context(organization_id):
        row = AICallWebhookSecret.objects.first()
        secret = decrypt(row.secret_encrypted) if row else ""
        call = AICall.objects.select_related("lead__company").filter(pk=reference).first()
        names = (call.lead.contact_name, call.lead.company.name) if call else ("", "")
    body = call_report(
        call_id=call_id, reference=reference, contact_name=names[0], company_name=names[1]
    )
    data = json.dumps(body).encode()
    headers = signed_headers(organization_id=organization_id, secret=secret, body=data)
    try:
        response = requests.post(url, data=data, headers=headers, timeout=(3.05, 30))
    except requests.RequestException as exc:
        raise ProviderUnavailable(f"The result webhook is unreachable: {exc}") from exc
    if response.status_code >= 500:
        raise ProviderUnavailable(f"The result webhook answered {response.status_code}.")
    return response.status_code
