"""Consent records: withdrawing takes effect at once (queued calls included); the API
follows the lead's permissions; do-not-sell keeps a lead out of exports."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance import services
from compliance.choices import ConsentPurpose, ConsentSource
from crm.choices import AICallStatus
from crm.models import AICall
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests import factories

pytestmark = pytest.mark.django_db


def _url(lead) -> str:
    return f"/api/v1/leads/{lead.pk}/consents/"


def test_withdrawal_cancels_queued_calls_and_turns_consent_off(org_a, admin_a, subject):
    with tenant_context(org_a):
        in_progress = AICall.objects.get(pk=subject.rows["queued_call"].pk)
        AICall.objects.create(
            organization_id=org_a.pk,
            campaign=in_progress.campaign,
            lead=subject.lead,
            provider="http",
            status=AICallStatus.IN_PROGRESS,
            provider_call_id="live-call",
        )
    client = factories.api_client(admin_a, org_a)
    response = client.post(
        _url(subject.lead),
        {"purpose": "contact", "granted": False, "source": "email", "evidence": {"id": "m-1"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["recorded_by"] == admin_a.email
    with tenant_context(org_a):
        lead = Lead.objects.get(pk=subject.lead.pk)
        assert not lead.consent_to_contact and lead.consent_updated_at is not None
        statuses = dict(AICall.objects.filter(lead=lead).values_list("provider_call_id", "status"))
        queued = AICall.objects.get(pk=subject.rows["queued_call"].pk)
    assert queued.status == AICallStatus.FAILED and "consent" in queued.failure_reason
    # A call already under way cannot be recalled; the finished one stays as it was.
    assert statuses["live-call"] == AICallStatus.IN_PROGRESS
    assert statuses[subject.rows["done_call"].provider_call_id] == AICallStatus.COMPLETED
    listed = client.get(_url(subject.lead)).json()["results"]
    assert [(r["purpose"], r["granted"]) for r in listed] == [
        ("contact", False),
        ("contact", True),
    ]


def test_a_backdated_record_does_not_override_a_later_choice(org_a, subject):
    with tenant_context(org_a):
        services.consent_record(
            lead=subject.lead,
            purpose=ConsentPurpose.CONTACT,
            granted=False,
            source=ConsentSource.WEB_FORM,
            recorded_at=timezone.now() - dt.timedelta(days=300),
            acting_user=None,
        )
        assert Lead.objects.get(pk=subject.lead.pk).consent_to_contact
        assert AICall.objects.get(pk=subject.rows["queued_call"].pk).status == "queued"


def test_bad_consent_input_is_refused(org_a, admin_a, subject):
    client = factories.api_client(admin_a, org_a)
    for body in (
        {"purpose": "telepathy", "granted": True, "source": "email"},
        {"purpose": "contact", "granted": True, "source": "email", "evidence": [1]},
        {
            "purpose": "contact",
            "granted": True,
            "source": "email",
            "recorded_at": (timezone.now() + dt.timedelta(days=1)).isoformat(),
        },
    ):
        assert client.post(_url(subject.lead), body, format="json").status_code == 400
    with tenant_context(org_a), pytest.raises(ValidationError):
        services.consent_record(
            lead=subject.lead, purpose="contact", granted=True, source="x", acting_user=None
        )


def test_consent_api_follows_the_leads_permissions(org_a, org_b, admin_b, readonly_a, subject):
    reader = factories.api_client(readonly_a, org_a)
    assert reader.get(_url(subject.lead)).status_code == 200
    body = {"purpose": "contact", "granted": False, "source": "email"}
    assert reader.post(_url(subject.lead), body, format="json").status_code == 403
    outsider = factories.api_client(admin_b, org_b)
    assert outsider.get(_url(subject.lead)).status_code == 404
    assert outsider.post(_url(subject.lead), body, format="json").status_code == 404


def test_a_rep_records_consent_only_for_their_own_leads(org_a, rep_a, rep_a2):
    from tests.compliance.conftest import build_person

    theirs = build_person(org_a, first="Ambrose", last="Fettiplace", phone="07700946802")
    with tenant_context(org_a):
        Lead.objects.filter(pk=theirs.lead.pk).update(assigned_to=rep_a)
    body = {"purpose": "data_sale", "granted": False, "source": "phone"}
    assert (
        factories.api_client(rep_a, org_a).post(_url(theirs.lead), body, format="json").status_code
        == 201
    )
    assert (
        factories.api_client(rep_a2, org_a).post(_url(theirs.lead), body, format="json").status_code
        == 404
    )
