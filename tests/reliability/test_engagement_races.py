"""Public and sharing endpoints of the engagement features hit by eight clients at once,
against four web workers: the same lead-form submission, the same unsubscribe, shares
and unshares of one record with one colleague."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
import requests

from accounts.audit import AuditAction
from accounts.models import AuditLog, User, UserObjectGrant
from compliance.choices import ConsentPurpose
from compliance.models import ConsentRecord, SuppressionEntry
from leads.choices import InteractionType
from leads.models import Interaction, Lead
from mailing import optout, unsubscribe
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.clients import CLIENTS, admin_session, at_once, public_form

ROUNDS = 5


@pytest.fixture(scope="module")
def api(django_db_blocker, demo_org) -> requests.Session:
    with django_db_blocker.unblock():
        return admin_session(demo_org, name="engagement")


def test_one_submission_posted_eight_times_at_once_makes_one_lead(live_url, demo_org, read):
    form = public_form(demo_org, f"Race {uuid.uuid4().hex[:6]}")
    email = f"race-{uuid.uuid4().hex[:8]}@pipes.example"
    body = {"contact_name": "Pat Pipe", "contact_email": email, "company_name": "Pat's Pipes"}
    url = f"{live_url}/api/v1/forms/{form.public_key}/submit/"
    responses = at_once(lambda _: requests.post(url, json=body, timeout=60))
    assert [r.status_code for r in responses] == [201] * CLIENTS, [r.text for r in responses]
    with tenant_context(demo_org):
        assert Lead.objects.filter(contact_email=email).count() == 1


def test_one_unsubscribe_posted_eight_times_at_once_is_recorded_once(live_url, demo_org, read):
    lead = factories.lead(demo_org, contact_email=f"out-{uuid.uuid4().hex[:8]}@pipes.example")
    with tenant_context(demo_org):
        token = _token(lead)
    url = f"{live_url}/u/{token}"
    responses = at_once(
        lambda _: requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=60)
    )
    assert [r.status_code for r in responses] == [200] * CLIENTS, [r.text for r in responses]
    with tenant_context(demo_org):
        assert SuppressionEntry.objects.filter(reason="unsubscribed").exists()
        withdrawn = ConsentRecord.objects.filter(
            lead=lead, purpose=ConsentPurpose.CONTACT, granted=False
        )
        assert withdrawn.count() == 1
        notes = Interaction.objects.filter(
            lead=lead, type=InteractionType.NOTE, subject="Unsubscribed from email"
        )
        assert notes.count() == 1
        audit = AuditLog.objects.filter(action=optout.AUDIT_UNSUBSCRIBED, target_id=str(lead.pk))
        assert audit.count() == 1


def _token(lead: Lead) -> str:
    """The unsubscribe token of an email to the lead."""
    message = SimpleNamespace(
        organization_id=lead.organization_id, lead_id=lead.pk, to_email=lead.contact_email
    )
    return unsubscribe.token_for(message)


def test_shares_and_unshares_at_once_leave_a_whole_share_or_none(live_url, api, demo_org, read):
    lead = factories.lead(demo_org)
    colleague = User.objects.get(email="rep2@demo.smartweb.test")
    shares = f"{live_url}/api/v1/leads/{lead.pk}/shares/"

    def share_or_unshare(i: int) -> requests.Response:
        if i % 2:
            return api.delete(f"{shares}{colleague.pk}/", timeout=60)
        access = "update" if i % 4 else "read"
        return api.post(shares, json={"user": str(colleague.pk), "access": access}, timeout=60)

    for _ in range(ROUNDS):
        responses = at_once(share_or_unshare)
        assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
        with tenant_context(demo_org):
            held = sorted(
                UserObjectGrant.objects.filter(object_pk=str(lead.pk), user=colleague).values_list(
                    "permission__codename", flat=True
                )
            )
        assert held in ([], ["view_lead"], ["change_lead", "view_lead"]), held
    with tenant_context(demo_org):
        revoked = AuditLog.objects.filter(
            action=AuditAction.OBJECT_REVOKED, target_id=str(lead.pk)
        ).count()
        granted = AuditLog.objects.filter(
            action=AuditAction.OBJECT_GRANTED, target_id=str(lead.pk)
        ).count()
    print(f"\ngranted {granted}, revoked {revoked}")
    assert revoked <= granted
