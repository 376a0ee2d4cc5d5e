"""An organization with a row in every tenant table, written through the services (as
the system) wherever one exists, so a check over every table cannot pass on empty ones.
A new tenant table gets its row here; the RLS test names the tables still empty."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import Group, Permission
from django.test import override_settings
from django.utils import timezone

from accounts import invitations
from accounts import services as account_services
from accounts.models import GroupObjectGrant, IdempotentRequest, Organization, Role
from attachments.models import Attachment
from compliance import services as compliance_services
from compliance.choices import ConsentPurpose, ConsentSource, RequestKind
from crm import pricing
from crm import services as crm_services
from crm.choices import AICallStatus
from crm.models import AICall
from leads import lead_forms
from leads import services as lead_services
from leads.choices import LeadStatus
from mailing import services as mailing_services
from mailing.choices import MessageDirection, MessageKind, MessageStatus
from mailing.models import EmailMessage
from notifications import services as notification_services
from savedviews import services as saved_view_services
from sharing import services as sharing_services
from sharing.choices import ShareAccess
from smartweb.tenancy.context import tenant_context
from sso import services as sso_services
from sso.choices import ProviderKind
from tests import factories
from webhooks import outbox
from webhooks import services as webhook_services
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, DeliveryAttempt


def populate_every_tenant_table(name: str = "Populated", *, trash: bool = False) -> Organization:
    """With `trash`, a deleted row of each kind a chooser offers waits in the trash."""
    organization = factories.make_organization(name)
    _webhook_endpoint(organization)
    admin = factories.org_admin(organization)
    team = factories.make_team(organization, f"{name} team")
    rep = factories.make_member(organization, "sales_rep", team=team)
    with tenant_context(organization, user=admin):
        account_services.token_create(user=rep, organization_id=organization.pk, name="populate")
        invitations.invitation_create(
            email=f"invitee@{organization.slug}.test",
            role=Role.objects.get(slug="read_only"),
            acting_user=None,
            link=str,
        )
        # The first answer to a retried POST, as the API's idempotency layer stores it.
        IdempotentRequest.objects.create(
            user=rep,
            key="populate",
            endpoint="/api/v1/tasks/",
            fingerprint="0" * 64,
            status_code=201,
            response_body={},
            expires_at=timezone.now() + dt.timedelta(hours=1),
        )
        tag = lead_services.tag_create(acting_user=None, data={"name": f"{name} tag"})
        lead_forms.lead_form_create(acting_user=None, data={"name": f"{name} form"})
        lead, erased = (
            lead_services.lead_create(
                acting_user=None,
                # Numbers no factory hands out: the second lead is erased, and its number
                # suppressed, before the tests make leads of their own.
                data={"assigned_to": rep, "contact_phone": f"0113 496 {n:04d}"},
                company_data={"name": f"{name} Plumbing {n}", "business_type": "plumber"},
                tags=[tag],
            )
            for n in (1, 2)
        )
        lead_services.interaction_log(lead=lead, acting_user=None, data={"type": "note"})
        lead_services.enrichment_record(
            lead=lead, acting_user=None, provider="test", data={"google_rating": 4.5}
        )
        sharing_services.record_share(
            record=erased, user=rep, access_level=ShareAccess.READ, acting_user=None
        )
        permission = Permission.objects.get(codename="view_lead")
        GroupObjectGrant.objects.create(
            organization=organization,
            group=Group.objects.get_or_create(name="populate")[0],
            permission=permission,
            content_type=permission.content_type,
            object_pk=str(lead.pk),
        )
        compliance_services.consent_record(
            lead=lead,
            purpose=ConsentPurpose.CONTACT,
            granted=True,
            source=ConsentSource.PHONE,
            acting_user=None,
        )
        compliance_services.subject_request_open(
            kind=RequestKind.EXPORT, lead=lead, acting_user=None
        )
        compliance_services.erase_subject(lead=erased, acting_user=None)

        lead = lead_services.lead_change_status(
            lead=lead, status=LeadStatus.QUALIFIED, acting_user=None, reason="populate"
        )
        deal = crm_services.lead_convert(lead=lead, acting_user=None, value=Decimal("1000"))
        line = pricing.LineInput(
            description="Website",
            quantity=Decimal("1"),
            unit_price=Decimal("1000.00"),
            discount_percent=Decimal("0"),
            tax_rate=Decimal("0"),
        )
        proposal = crm_services.proposal_create(
            opportunity=deal, acting_user=None, lines=[line], valid_until=dt.date(2099, 1, 1)
        )
        crm_services.proposal_send(proposal=proposal, acting_user=None)
        crm_services.proposal_accept(proposal=proposal, acting_user=None)
        campaign = crm_services.campaign_save(
            acting_user=None, name=f"{name} campaign", script="Offer a website."
        )
        crm_services.webhook_secret_rotate(acting_user=None)
        AICall.objects.create(
            campaign=campaign, lead=lead, provider="http", status=AICallStatus.QUEUED
        )
        crm_services.task_create(acting_user=None, title="Call back", lead=lead)
        saved_view_services.saved_view_create(
            acting_user=None, owner=rep, resource="tasks", name="Open", query={"status": ["open"]}
        )
        # The lead assigned to the rep above notified them; this is their digest choice.
        notification_services.settings_update(user=rep, digest_enabled=False)
        _email_and_sign_in(organization, lead, name)
        # The row alone: its file does not matter to the tables' policies.
        Attachment.objects.create(
            lead=lead,
            file=f"attachments/{organization.pk}/populated.txt",
            original_name="notes.txt",
            content_type="text/plain",
            size=1,
            sha256="0" * 64,
        )
        if trash:
            _fill_trash(organization, name)
    return organization


def _email_and_sign_in(organization: Organization, lead, name: str) -> None:
    """A template (and its history), the inbound webhook's secret, one email on the
    lead's log, and the organization's identity provider."""
    template = mailing_services.template_create(
        acting_user=None,
        name=f"{name} hello",
        subject="Hello {{ lead.contact_name }}",
        body="Hello {{ lead.contact_name }}",
    )
    mailing_services.inbound_secret_rotate(acting_user=None)
    EmailMessage.objects.create(
        lead=lead,
        template=template,
        direction=MessageDirection.OUTBOUND,
        kind=MessageKind.LEAD,
        status=MessageStatus.SENT,
        message_id=f"<populated@{organization.slug}.test>",
        from_email=f"crm@{organization.slug}.test",
        to_email=f"lead@{organization.slug}.test",
        subject="Hello",
    )
    sso_services.provider_save(
        provider=None,
        changes={"name": "Google", "kind": ProviderKind.GOOGLE, "client_id": "populated"},
        client_secret="populated-secret",
        acting_user=None,
    )


def _webhook_endpoint(organization: Organization) -> None:
    """An endpoint listening to every event (the lead created below writes its outbox
    event and delivery), with one attempt logged. Its URL is a closed port on loopback:
    a worker that ran in a test would send nothing anywhere."""
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True), tenant_context(organization):
        endpoint, _ = webhook_services.endpoint_create(
            acting_user=None, url="http://127.0.0.1:9/hooks", event_types=list(EventType.values)
        )
        event = outbox.emit(EventType.TASK_OVERDUE, {"task": {"id": "populated"}})
        delivery = Delivery.objects.get(event=event, endpoint=endpoint)
        DeliveryAttempt.objects.create(
            delivery=delivery, number=1, status_code=200, response_ms=12, succeeded=True
        )
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DELIVERED, attempts=1, delivered_at=timezone.now()
        )


def _fill_trash(organization: Organization, name: str) -> None:
    deleted = lead_services.lead_create(
        acting_user=None, data={}, company_data={"name": f"{name} Deleted Ltd"}
    )
    lead_services.company_delete(company=deleted.company, acting_user=None)
    lead_services.tag_delete(
        tag=lead_services.tag_create(acting_user=None, data={"name": f"{name} old tag"}),
        acting_user=None,
    )
    crm_services.task_delete(
        task=crm_services.task_create(acting_user=None, title="Old"), acting_user=None
    )
    crm_services.pipeline_delete(
        pipeline=crm_services.pipeline_create(name=f"{name} old pipeline", acting_user=None),
        acting_user=None,
    )
    factories.make_team(organization, f"{name} old team").delete()
