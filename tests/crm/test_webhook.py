"""The AI call webhook: signature, staleness, replays, idempotency, unknown and foreign
calls, and what a result sets in motion (interaction, follow-up task, lead changes)."""

import datetime as dt
import json
import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from crm import services
from crm.choices import AICallStatus, CallOutcome, CampaignStatus, TaskType
from crm.models import AICall, Campaign, Task
from leads.choices import InteractionType, LeadStatus
from leads.models import Interaction, Lead
from smartweb import signing
from smartweb.tenancy.context import tenant_context
from tests.crm import factories

URL = "/api/v1/webhooks/ai-calls/"


def _report(call, **fields):
    return {
        "call_id": call.provider_call_id,
        "status": "completed",
        "started_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
        "duration_seconds": 184,
        "recording_url": "https://calls.example.test/rec/1.mp3",
        "transcript": "Agent: Hello… Customer: Yes, come round on Friday.",
        "summary": "Wants a new website; meeting booked.",
        "sentiment": "positive",
        "outcome": "meeting_booked",
        "meeting_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
        "cost": "0.4125",
        "analysis": {"intent": "buy", "next_steps": ["Send examples"]},
        **fields,
    }


def _counts(organization):
    with tenant_context(organization):
        return (
            Interaction.objects.filter(type=InteractionType.AI_CALL).count(),
            Task.objects.count(),
            AICall.objects.filter(result_recorded_at__isnull=False).count(),
        )


@pytest.fixture
def call_a(org_a, rep_a):
    return factories.ai_call(org_a, for_lead=factories.lead(org_a, assigned_to=rep_a))


@pytest.fixture
def secret_a(org_a):
    return factories.webhook_secret(org_a)


@pytest.mark.django_db
def test_result_is_recorded_with_interaction_task_and_new_score(org_a, rep_a, call_a, secret_a):
    with tenant_context(org_a):
        before = Lead.objects.get(pk=call_a.lead_id)
    payload = _report(call_a)
    response = factories.deliver(Client(), org_a, secret_a, payload)
    assert response.status_code == 200, response.content
    assert response.json()["recorded"] is True
    with tenant_context(org_a):
        call = AICall.objects.get(pk=call_a.pk)
        assert call.status == AICallStatus.COMPLETED
        assert call.outcome == CallOutcome.MEETING_BOOKED and call.sentiment == "positive"
        assert str(call.cost) == "0.4125" and call.duration_seconds == 184
        interaction = call.interaction
        assert interaction.type == InteractionType.AI_CALL
        assert interaction.outcome == "meeting_booked"
        assert interaction.ai_analysis["sentiment"] == "positive"
        assert interaction.ai_analysis["next_steps"] == ["Send examples"]
        task = Task.objects.get()
        assert task.type == TaskType.MEETING and task.assigned_to == rep_a
        assert task.due_at == dt.datetime.fromisoformat(payload["meeting_at"])
        assert task.lead_id == call.lead_id and task.ai_call == call
        lead = Lead.objects.get(pk=call_a.lead_id)
        assert lead.status == LeadStatus.CONTACTED
        assert lead.last_contacted_at is not None
        assert lead.next_follow_up_at == task.due_at
        assert lead.scored_at > before.scored_at
        assert lead.lead_score > before.lead_score  # engagement: a positive call
        assert lead.score_breakdown["factors"]["engagement"]["value"] > 0


@pytest.mark.django_db
def test_the_same_delivery_twice_writes_once(org_a, call_a, secret_a):
    payload = _report(call_a)
    first = factories.deliver(Client(), org_a, secret_a, payload)
    second = factories.deliver(Client(), org_a, secret_a, payload)
    assert first.status_code == second.status_code == 200
    assert second.json()["recorded"] is False
    assert _counts(org_a) == (1, 1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_SIGNATURE": "sha256=" + "0" * 64},
        {"HTTP_X_TIMESTAMP": "yesterday"},
        {"HTTP_X_ORGANIZATION": "no-such-organization"},
        # A NUL no slug holds, which PostgreSQL text refuses (a 500 before).
        {"HTTP_X_ORGANIZATION": "demo\x00"},
    ],
    ids=["unsigned", "bad-signature", "bad-timestamp", "unknown-organization", "nul-organization"],
)
def test_unsigned_or_badly_signed_deliveries_are_401(org_a, call_a, secret_a, headers):
    body = json.dumps(_report(call_a)).encode()
    signed = factories.signed_headers(org_a, secret_a, body)
    sent = {**signed, **headers} if headers else {}
    response = Client().post(URL, data=body, content_type="application/json", **sent)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert _counts(org_a) == (0, 0, 0)


# A few seconds past the tolerance: the timestamp is whole seconds and the server reads
# its clock a moment later, so exactly one second past would be a coin toss.
OUTSIDE = int(signing.TOLERANCE.total_seconds()) + 5


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-OUTSIDE, OUTSIDE])
def test_stale_or_future_deliveries_are_401(org_a, call_a, secret_a, offset):
    payload = _report(call_a)
    response = factories.deliver(
        Client(), org_a, secret_a, payload, timestamp=int(time.time()) + offset
    )
    assert response.status_code == 401
    assert _counts(org_a) == (0, 0, 0)


@pytest.mark.django_db
def test_a_tampered_body_is_401(org_a, call_a, secret_a):
    body = json.dumps(_report(call_a)).encode()
    headers = factories.signed_headers(org_a, secret_a, body)
    tampered = body.replace(b"meeting_booked", b"not_interested")
    response = Client().post(URL, data=tampered, content_type="application/json", **headers)
    assert response.status_code == 401
    assert _counts(org_a) == (0, 0, 0)


@pytest.mark.django_db
def test_a_rotated_secret_stops_the_old_one(org_a, call_a, secret_a):
    factories.webhook_secret(org_a)
    response = factories.deliver(Client(), org_a, secret_a, _report(call_a))
    assert response.status_code == 401


@pytest.mark.django_db
def test_unknown_call_is_404(org_a, secret_a):
    response = factories.deliver(
        Client(), org_a, secret_a, {"call_id": "nobody-knows", "status": "completed"}
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_another_organizations_call_is_404_and_untouched(org_a, org_b, secret_a):
    call_b = factories.ai_call(org_b)
    factories.webhook_secret(org_b)
    response = factories.deliver(Client(), org_a, secret_a, _report(call_b))
    assert response.status_code == 404
    assert _counts(org_b) == (0, 0, 0)
    with tenant_context(org_b):
        assert AICall.objects.get().status == AICallStatus.IN_PROGRESS


@pytest.mark.django_db
def test_one_organizations_secret_does_not_sign_for_another(org_a, org_b, secret_a):
    call_b = factories.ai_call(org_b)
    factories.webhook_secret(org_b)
    body = json.dumps(_report(call_b)).encode()
    headers = factories.signed_headers(org_b, secret_a, body)
    response = Client().post(URL, data=body, content_type="application/json", **headers)
    assert response.status_code == 401
    assert _counts(org_b) == (0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"status": "exploded"},
        {"outcome": "delighted"},
        {"cost": "-1"},
        {"cost": "cheap"},
        {"duration_seconds": -5},
        {"analysis": {"sentiment": "ecstatic"}},
        {"started_at": "last tuesday"},
        {"recording_url": "ftp://calls.example.test/rec/1.mp3"},
        {"recording_url": "javascript:alert(1)"},
    ],
)
def test_bad_reports_are_400_and_write_nothing(org_a, call_a, secret_a, change):
    response = factories.deliver(Client(), org_a, secret_a, _report(call_a, **change))
    assert response.status_code == 400
    assert _counts(org_a) == (0, 0, 0)


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_400(org_a, call_a, secret_a):
    body = b"\x00not json"
    headers = factories.signed_headers(org_a, secret_a, body)
    response = Client().post(URL, data=body, content_type="application/json", **headers)
    assert response.status_code == 400


@pytest.mark.django_db
def test_callback_creates_a_call_task_at_the_asked_time(org_a, call_a, secret_a):
    when = (timezone.now() + dt.timedelta(days=1, hours=3)).replace(microsecond=0)
    payload = _report(call_a, outcome="callback", callback_at=when.isoformat(), meeting_at=None)
    assert factories.deliver(Client(), org_a, secret_a, payload).status_code == 200
    with tenant_context(org_a):
        task = Task.objects.get()
        assert task.type == TaskType.CALL and task.due_at == when
        assert Lead.objects.get(pk=call_a.lead_id).next_follow_up_at == when


@pytest.mark.django_db
def test_not_interested_moves_the_lead_to_nurturing(org_a, call_a, secret_a):
    payload = _report(call_a, outcome="not_interested", sentiment="negative")
    assert factories.deliver(Client(), org_a, secret_a, payload).status_code == 200
    with tenant_context(org_a):
        assert Lead.objects.get(pk=call_a.lead_id).status == LeadStatus.NURTURING
        assert not Task.objects.exists()


@pytest.mark.django_db
def test_do_not_call_opts_the_lead_out(org_a, call_a, secret_a):
    payload = _report(call_a, outcome="do_not_call", sentiment="negative")
    assert factories.deliver(Client(), org_a, secret_a, payload).status_code == 200
    with tenant_context(org_a):
        lead = Lead.objects.get(pk=call_a.lead_id)
        assert lead.do_not_contact and lead.status == LeadStatus.LOST
        assert lead.lead_score == 0


@pytest.mark.django_db
def test_no_answer_records_the_call_without_a_task(org_a, call_a, secret_a):
    payload = {"call_id": call_a.provider_call_id, "status": "no_answer"}
    assert factories.deliver(Client(), org_a, secret_a, payload).status_code == 200
    with tenant_context(org_a):
        call = AICall.objects.get()
        assert call.status == AICallStatus.NO_ANSWER and call.outcome == CallOutcome.NO_ANSWER
        assert call.interaction is None and not Task.objects.exists()


@pytest.mark.django_db
def test_progress_reports_are_not_final(org_a, call_a, secret_a):
    progress = {"call_id": call_a.provider_call_id, "status": "in_progress"}
    assert factories.deliver(Client(), org_a, secret_a, progress).status_code == 200
    final = factories.deliver(Client(), org_a, secret_a, _report(call_a))
    assert final.json()["recorded"] is True
    assert _counts(org_a) == (1, 1, 1)


def test_two_concurrent_deliveries_write_once(live_org):
    organization, _, rep = live_org
    call = factories.ai_call(organization, for_lead=factories.lead(organization, assigned_to=rep))
    secret = factories.webhook_secret(organization)
    payload = _report(call)
    start = threading.Barrier(2)
    answers = []

    def deliver():
        try:
            start.wait()
            answers.append(factories.deliver(Client(), organization, secret, payload))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 200]
    assert sorted(a.json()["recorded"] for a in answers) == [False, True]
    assert _counts(organization) == (1, 1, 1)


@pytest.mark.django_db
def test_a_call_closed_on_our_side_ignores_a_late_report(org_a, call_a, secret_a):
    with tenant_context(org_a):
        services.ai_call_mark_failed(ai_call_id=call_a.pk, reason="The lead opted out.")
    response = factories.deliver(Client(), org_a, secret_a, _report(call_a))
    assert response.status_code == 200 and response.json()["recorded"] is False
    assert _counts(org_a) == (0, 0, 0)
    with tenant_context(org_a):
        assert AICall.objects.get().transcript == ""


@pytest.mark.django_db
def test_a_report_for_a_lead_deleted_meanwhile_writes_nothing(org_a, call_a, secret_a):
    with tenant_context(org_a):
        Lead.objects.get(pk=call_a.lead_id).delete()  # its calls go with it
    response = factories.deliver(Client(), org_a, secret_a, _report(call_a))
    assert response.status_code == 404
    assert _counts(org_a) == (0, 0, 0)


def _queued_call(organization, campaign=None) -> AICall:
    """A call whose placing job died after the provider started it: no provider id yet."""
    with tenant_context(organization):
        return AICall.objects.create(
            campaign=campaign or factories.campaign(organization),
            lead=factories.lead(organization),
            provider="http",
            status=AICallStatus.QUEUED,
        )


@pytest.mark.django_db
def test_a_report_finds_by_its_reference_the_call_whose_job_died(org_a, secret_a):
    call = _queued_call(org_a)
    report = {**_report(call), "call_id": "prov-late-1", "reference": str(call.pk)}
    response = factories.deliver(Client(), org_a, secret_a, report)
    assert response.status_code == 200, response.content
    with tenant_context(org_a):
        call.refresh_from_db()
        # The job's retry then finds the call placed: it does not place it again.
        assert services.ai_call_prepare(ai_call_id=call.pk) is None
    assert (call.provider_call_id, call.status) == ("prov-late-1", AICallStatus.COMPLETED)
    assert _counts(org_a) == (1, 1, 1)


@pytest.mark.django_db
def test_a_reference_never_replaces_a_known_provider_id(org_a, call_a, secret_a):
    report = {**_report(call_a), "call_id": "someone-else", "reference": str(call_a.pk)}
    assert factories.deliver(Client(), org_a, secret_a, report).status_code == 404
    with tenant_context(org_a):
        call_a.refresh_from_db()
    assert call_a.status == AICallStatus.IN_PROGRESS and call_a.provider_call_id != "someone-else"


@pytest.mark.django_db
def test_a_reference_to_another_organizations_call_is_404(org_a, org_b, secret_a):
    call_b = _queued_call(org_b)
    report = {**_report(call_b), "call_id": "prov-x", "reference": str(call_b.pk)}
    assert factories.deliver(Client(), org_a, secret_a, report).status_code == 404
    assert _counts(org_b) == (0, 0, 0)


@pytest.mark.django_db
def test_a_bad_reference_is_400(org_a, call_a, secret_a):
    report = {**_report(call_a), "reference": "not-a-uuid"}
    response = factories.deliver(Client(), org_a, secret_a, report)
    assert response.status_code == 400 and "reference" in response.json()["error"]["details"]


@pytest.mark.django_db
def test_the_last_calls_result_completes_the_campaign(org_a, secret_a):
    campaign = factories.campaign(org_a)
    with tenant_context(org_a):
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.ACTIVE)
    first, last = (_queued_call(org_a, campaign) for _ in range(2))
    for n, call in enumerate((first, last)):
        report = {**_report(call), "call_id": f"prov-last-{n}", "reference": str(call.pk)}
        assert factories.deliver(Client(), org_a, secret_a, report).status_code == 200
        with tenant_context(org_a):
            campaign.refresh_from_db()
        expected = CampaignStatus.COMPLETED if call is last else CampaignStatus.ACTIVE
        assert campaign.status == expected
    assert campaign.completed_at is not None
