"""Campaign targeting, calling hours, limits and the launch rules (the services)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm import services
from crm.choices import AICallStatus, CampaignStatus
from crm.exceptions import InvalidTransition
from crm.models import AICall, Campaign
from leads import services as lead_services
from leads.choices import LeadStatus
from smartweb.tenancy.context import tenant_context
from tests.crm import factories

pytestmark = pytest.mark.django_db

# A Wednesday, 10:00 UTC.
WEDNESDAY_10 = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)


def _run(organization, campaign, now=WEDNESDAY_10):
    with tenant_context(organization):
        campaign.status = CampaignStatus.ACTIVE
        campaign.save(update_fields=["status"])
        return services.campaign_run(campaign=campaign, now=now)


def _called(organization, campaign):
    with tenant_context(organization):
        return set(AICall.objects.filter(campaign=campaign).values_list("lead_id", flat=True))


def test_targets_respect_consent_do_not_contact_phone_and_filter(org_a):
    good = factories.lead(org_a)
    factories.lead(org_a, consent=False)
    factories.lead(org_a, phone=False)
    factories.lead(org_a, status=LeadStatus.LOST)
    blocked = factories.lead(org_a)
    with tenant_context(org_a):
        lead_services.lead_update(lead=blocked, acting_user=None, data={"do_not_contact": True})
    campaign = factories.campaign(org_a)
    result = _run(org_a, campaign)
    assert result.queued == 1
    assert _called(org_a, campaign) == {good.pk}


def test_targets_leave_out_the_leads_the_campaign_is_done_with(org_a):
    campaign = factories.campaign(org_a, max_attempts_per_lead=2)
    elsewhere = factories.campaign(org_a)
    fresh = factories.lead(org_a)  # the company's phone
    own_phone = factories.lead(org_a, phone=False, contact_phone="01632 960999")
    factories.lead(org_a, phone=False)  # no phone at all
    tried_once, tried_twice, done_here, done_elsewhere, busy_elsewhere, deleted_tries = (
        factories.lead(org_a) for _ in range(6)
    )

    def call(lead, owner, status, *, deleted=False):
        made = factories.ai_call(org_a, for_lead=lead, in_campaign=owner)
        with tenant_context(org_a):
            AICall.all_objects.filter(pk=made.pk).update(
                status=status, deleted_at=timezone.now() if deleted else None
            )

    call(tried_once, campaign, AICallStatus.NO_ANSWER)
    call(tried_twice, campaign, AICallStatus.NO_ANSWER)
    call(tried_twice, campaign, AICallStatus.FAILED)
    call(done_here, campaign, AICallStatus.COMPLETED)
    call(done_elsewhere, elsewhere, AICallStatus.COMPLETED)
    call(busy_elsewhere, elsewhere, AICallStatus.IN_PROGRESS)
    call(deleted_tries, campaign, AICallStatus.NO_ANSWER, deleted=True)
    call(deleted_tries, campaign, AICallStatus.COMPLETED, deleted=True)
    with tenant_context(org_a):
        targets = set(services.campaign_targets(campaign).values_list("pk", flat=True))
    assert targets == {fresh.pk, own_phone.pk, tried_once.pk, done_elsewhere.pk, deleted_tries.pk}


def test_lead_filter_narrows_the_targets(org_a):
    qualified = factories.qualified_lead(org_a)
    factories.lead(org_a)
    campaign = factories.campaign(org_a, lead_filter={"statuses": ["qualified"]})
    _run(org_a, campaign)
    assert _called(org_a, campaign) == {qualified.pk}


def test_bad_lead_filters_are_refused(org_a):
    for bad in ({"statuses": ["gone"]}, {"min_score": 101}, {"colour": "red"}, []):
        with pytest.raises(ValidationError), tenant_context(org_a):
            services.validate_lead_filter(bad)


def test_no_calls_outside_calling_hours_in_the_campaign_time_zone(org_a):
    factories.lead(org_a)
    # 10:00 UTC is 05:00 in New York: closed; the run says when hours open (09:00 local).
    campaign = factories.campaign(
        org_a,
        timezone="America/New_York",
        calling_hours_start=dt.time(9),
        calling_hours_end=dt.time(17),
        calling_days=[0, 1, 2, 3, 4],
    )
    result = _run(org_a, campaign)
    assert result.queued == 0
    assert result.next_run_at == dt.datetime(2026, 3, 4, 14, 0, tzinfo=dt.UTC)
    later = _run(org_a, campaign, now=result.next_run_at)
    assert later.queued == 1


def test_weekend_waits_for_monday(org_a):
    factories.lead(org_a)
    campaign = factories.campaign(org_a, calling_days=[0, 1, 2, 3, 4])
    saturday = dt.datetime(2026, 3, 7, 10, 0, tzinfo=dt.UTC)
    result = _run(org_a, campaign, now=saturday)
    assert result.queued == 0
    assert result.next_run_at == dt.datetime(2026, 3, 9, 0, 0, tzinfo=dt.UTC)


def test_daily_and_total_limits(org_a):
    for _ in range(5):
        factories.lead(org_a)
    campaign = factories.campaign(org_a, daily_call_limit=2, total_call_limit=3)
    first = _run(org_a, campaign)
    assert first.queued == 2
    assert first.next_run_at.date() == dt.date(2026, 3, 5)  # tomorrow's calling hours
    assert _run(org_a, campaign).queued == 0  # today's allowance is spent
    next_day = _run(org_a, campaign, now=WEDNESDAY_10 + dt.timedelta(days=1))
    assert next_day.queued == 1  # the total limit leaves one
    assert len(_called(org_a, campaign)) == 3


def test_leads_are_called_once_per_attempt_and_not_while_in_flight(org_a):
    lead = factories.lead(org_a)
    campaign = factories.campaign(org_a, max_attempts_per_lead=2)
    assert _run(org_a, campaign).queued == 1
    assert _run(org_a, campaign).queued == 0  # still queued: in flight
    with tenant_context(org_a):
        AICall.objects.filter(lead=lead).update(status=AICallStatus.NO_ANSWER)
    assert _run(org_a, campaign).queued == 1  # a second attempt
    with tenant_context(org_a):
        AICall.objects.filter(lead=lead).update(status=AICallStatus.NO_ANSWER)
    result = _run(org_a, campaign)
    assert result.queued == 0 and result.completed  # out of attempts, nothing in flight
    with tenant_context(org_a):
        assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED


def test_schedule_window_ends_the_campaign(org_a):
    factories.lead(org_a)
    campaign = factories.campaign(
        org_a, starts_at=WEDNESDAY_10 - dt.timedelta(days=2), ends_at=WEDNESDAY_10
    )
    result = _run(org_a, campaign)
    assert result.completed and result.queued == 0


def test_launch_needs_a_provider_and_a_webhook_secret(org_a, settings):
    campaign = factories.campaign(org_a)
    settings.AI_CALL_PROVIDER_URL = ""
    with tenant_context(org_a):
        with pytest.raises(ValidationError) as refused:
            services.campaign_launch(campaign=campaign, acting_user=None)
        assert "provider" in refused.value.message_dict
    settings.AI_CALL_PROVIDER_URL = "http://127.0.0.1:9"
    with tenant_context(org_a):
        with pytest.raises(ValidationError) as refused:
            services.campaign_launch(campaign=campaign, acting_user=None)
        assert "webhook_secret" in refused.value.message_dict
    factories.webhook_secret(org_a)
    with tenant_context(org_a):
        launched = services.campaign_launch(campaign=campaign, acting_user=None)
        assert launched.status == CampaignStatus.ACTIVE and launched.launched_at
        paused = services.campaign_pause(campaign=campaign, acting_user=None)
        assert paused.status == CampaignStatus.PAUSED
        with pytest.raises(InvalidTransition) as refused:
            services.campaign_pause(campaign=campaign, acting_user=None)
        assert refused.value.allowed == ["active", "cancelled"]


def test_paused_campaign_places_no_call(org_a, provider_url):
    factories.lead(org_a)
    campaign = factories.campaign(org_a)
    _run(org_a, campaign)
    with tenant_context(org_a):
        call = AICall.objects.get()
        assert services.ai_call_prepare(ai_call_id=call.pk, now=WEDNESDAY_10) is not None
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.PAUSED)
        assert services.ai_call_prepare(ai_call_id=call.pk, now=WEDNESDAY_10) is None
        assert AICall.objects.get().status == AICallStatus.QUEUED


def test_a_lead_opting_out_after_queueing_is_not_called(org_a):
    lead = factories.lead(org_a)
    campaign = factories.campaign(org_a)
    _run(org_a, campaign)
    with tenant_context(org_a):
        lead_services.lead_update(lead=lead, acting_user=None, data={"do_not_contact": True})
        call = AICall.objects.get()
        assert services.ai_call_prepare(ai_call_id=call.pk, now=timezone.now()) is None
        call.refresh_from_db()
        assert call.status == AICallStatus.FAILED and "no longer" in call.failure_reason


def test_finished_campaigns_cannot_change(org_a):
    campaign = factories.campaign(org_a)
    with tenant_context(org_a):
        services.campaign_cancel(campaign=campaign, acting_user=None)
        with pytest.raises(InvalidTransition):
            services.campaign_save(campaign=campaign, acting_user=None, name="Renamed")


def test_bad_campaign_settings_are_refused(org_a):
    with tenant_context(org_a):
        for bad in (
            {"timezone": "Mars/Olympus"},
            {"calling_hours_start": dt.time(18), "calling_hours_end": dt.time(9)},
            {"calling_days": [7]},
            {"name": ""},
        ):
            with pytest.raises(ValidationError):
                services.campaign_save(acting_user=None, **{"name": "X", "script": "Hello", **bad})
        assert not Campaign.objects.exists()
