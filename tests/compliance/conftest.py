"""A data subject with a row of every kind, and the tools to look for them afterwards.

`person(org, …)` builds one person's footprint through the services where they exist
(leads, merge, consent) and the models otherwise: a company and lead (with history), a
duplicate lead merged into it, tags, interactions, an enrichment, an opportunity with a
proposal, line items and a contract, AI calls (one completed with a transcript, one
queued), tasks, a consent record and an admin change-log entry.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from compliance import services as compliance_services
from compliance.choices import ConsentPurpose, ConsentSource
from crm.choices import AICallStatus, ContractStatus
from crm.models import (
    AICall,
    Campaign,
    Contract,
    Opportunity,
    Pipeline,
    PipelineStage,
    Proposal,
    ProposalLineItem,
    Task,
)
from leads import services as lead_services
from leads.choices import InteractionType
from leads.models import Interaction, Lead, LeadEnrichment, LeadTag, Tag
from smartweb.tenancy.context import tenant_context
from tests import factories


@dataclass
class Person:
    organization: object
    first: str
    last: str
    email: str
    phone: str
    old_email: str
    company_name: str
    domain: str
    lead: Lead = None
    rows: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def markers(self) -> list[str]:
        """Strings that only this person's data contains (as stored or tokenized)."""
        return [
            self.first.lower(),
            self.last.lower(),
            self.email.split("@")[0],
            self.old_email.split("@")[0],
            self.domain,
            # Ten digits, as in the raw, normalized and tokenized forms alike: a shorter
            # run turns up by chance in microseconds of timestamps or in UUIDs.
            self.phone[-10:],
        ]


_numbers = itertools.count(1)


def _stage(organization) -> PipelineStage:
    pipeline = Pipeline.objects.create(
        organization_id=organization.pk, name=f"Compliance {timezone.now().timestamp()}"
    )
    return PipelineStage.objects.create(
        organization_id=organization.pk,
        pipeline=pipeline,
        name="Proposal",
        position=1,
        probability=Decimal("40"),
    )


def build_person(organization, *, first, last, phone, owner=None) -> Person:
    n = next(_numbers)
    domain = f"{last.lower()}-plumbing.test"
    p = Person(
        organization=organization,
        first=first,
        last=last,
        email=f"{first.lower()}.{last.lower()}@{domain}",
        phone=phone,
        old_email=f"{first.lower()}{last.lower()}@oldmail.test",
        company_name=f"{last} Plumbing",
        domain=domain,
    )
    with tenant_context(organization):
        lead = lead_services.lead_create(
            acting_user=None,
            data={
                "contact_name": p.name,
                "contact_email": p.email,
                "contact_phone": p.phone,
                "notes": f"{first} prefers mornings; call {p.phone}.",
                "consent_to_contact": True,
                "assigned_to": owner,
            },
            company_data={
                "name": p.company_name,
                "business_type": "plumber",
                "phone": p.phone,
                "email": p.email,
                "website": f"https://www.{domain}/",
                "address_line1": f"1 {last} Yard",
                "postal_code": "LS1 4AP",
                "city": "Leeds",
                "online_presence": {
                    "website_status": "outdated",
                    "google_rating": 4.5,
                    "social_profiles": {"facebook": f"https://facebook.com/{last.lower()}"},
                },
            },
            allow_duplicate=True,
        )
        lead_services.lead_update(
            lead=lead, acting_user=None, data={"contact_title": f"Owner, {last} family firm"}
        )
        duplicate = lead_services.lead_create(
            acting_user=None,
            data={"contact_name": f"{first[0]}. {last}", "contact_email": p.old_email},
            company_data={"name": f"{first}'s Heating", "business_type": "hvac"},
            allow_duplicate=True,
        )
        lead = lead_services.leads_merge(primary=lead, duplicates=[duplicate], acting_user=None)
        tag = Tag.objects.create(organization_id=organization.pk, name=f"vip-{last.lower()}")
        lead_services.lead_set_tags(lead=lead, tags=[tag], acting_user=None)
        call_note = Interaction.objects.create(
            organization_id=organization.pk,
            lead=lead,
            type=InteractionType.CALL,
            subject=f"Call with {first}",
            content=f"{p.name} asked us to call back on {p.phone} or mail {p.email}.",
            ai_analysis={"sentiment": "positive", "summary": f"{first} is keen"},
        )
        call_note.content += " Follow-up agreed."
        call_note.save()
        LeadEnrichment.objects.create(
            organization_id=organization.pk,
            lead=lead,
            provider="maps",
            data={"owner": p.name, "email": p.email, "reviews": 12},
            confidence=Decimal("0.9"),
        )
        stage = _stage(organization)
        opportunity = Opportunity.objects.create(
            organization_id=organization.pk,
            lead=lead,
            pipeline=stage.pipeline,
            stage=stage,
            name=f"Website for {p.company_name}",
            value=Decimal("1500.00"),
            probability=Decimal("40"),
            owner=owner,
        )
        proposal = Proposal.objects.create(
            organization_id=organization.pk,
            opportunity=opportunity,
            number=f"P-{n}",
            title=f"Proposal for {p.name}",
            notes=f"Send to {p.email}",
            subtotal=Decimal("1500.00"),
            total=Decimal("1500.00"),
        )
        ProposalLineItem.objects.create(
            organization_id=organization.pk,
            proposal=proposal,
            description=f"Five-page site for {p.company_name}",
            unit_price=Decimal("1500.00"),
            subtotal=Decimal("1500.00"),
            total=Decimal("1500.00"),
        )
        Contract.objects.create(
            organization_id=organization.pk,
            opportunity=opportunity,
            proposal=proposal,
            number=f"C-{n}",
            title=f"Website contract, {last}",
            status=ContractStatus.DRAFT,
            value=Decimal("1500.00"),
            terms=f"Between us and {p.name}.",
            signer_name=p.name,
            signer_email=p.email,
        )
        campaign = Campaign.objects.create(
            organization_id=organization.pk,
            name=f"Spring campaign {n}",
            script="Offer a website.",
        )
        done = AICall.objects.create(
            organization_id=organization.pk,
            campaign=campaign,
            lead=lead,
            provider="http",
            provider_call_id=f"call-{n}",
            status=AICallStatus.COMPLETED,
            transcript=f"Agent: Hello {first}. {first}: yes, my number is {p.phone}.",
            summary=f"{p.name} wants a quote",
            recording_url=f"https://recordings.test/{last.lower()}.mp3",
            analysis={"sentiment": "positive", "quote": f"I am {p.name}"},
            duration_seconds=95,
            cost=Decimal("0.4200"),
            result_recorded_at=timezone.now(),
        )
        queued = AICall.objects.create(
            organization_id=organization.pk,
            campaign=campaign,
            lead=lead,
            provider="http",
            status=AICallStatus.QUEUED,
        )
        Task.objects.create(
            organization_id=organization.pk,
            title=f"Call back {first} {last}",
            description=f"Ring {p.phone}",
            lead=lead,
            ai_call=done,
        )
        Task.objects.create(
            organization_id=organization.pk,
            title="Chase signature",
            opportunity=opportunity,
            due_at=timezone.now() + dt.timedelta(days=2),
        )
        compliance_services.consent_record(
            lead=lead,
            purpose=ConsentPurpose.CONTACT,
            granted=True,
            source=ConsentSource.PHONE,
            evidence={"note": f"{first} said yes on {p.phone}"},
            acting_user=None,
        )
        lead.refresh_from_db()
    p.lead = lead
    p.rows = {"duplicate": duplicate, "queued_call": queued, "done_call": done, "tag": tag}
    return p


@pytest.fixture
def subject(org_a):
    return build_person(org_a, first="Zebulon", last="Quixotefield", phone="07700913579")


@pytest.fixture
def neighbour(org_a):
    """Another person of the same organization, whose data must stay untouched."""
    return build_person(org_a, first="Ottoline", last="Brackenbury", phone="07700824681")


@pytest.fixture
def outsider(org_b):
    """A person of organization B."""
    return build_person(org_b, first="Peregrine", last="Wolstenholme", phone="07700735792")


def tables_containing(organization, needles: list[str]) -> dict[str, int]:
    """Rows of every table whose text (every column, search vectors included) contains
    any needle, as the runtime role in `organization`'s context: all of its rows and
    every non-tenant table, history tables included."""
    patterns = [f"%{needle}%" for needle in needles]
    found = {}
    with tenant_context(organization), connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " AND has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name),"
            " 'SELECT')"
            " ORDER BY table_name"
        )
        tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" AS row WHERE row::text ILIKE ANY(%s)', [patterns]
            )
            count = cursor.fetchone()[0]
            if count:
                found[table] = count
    return found


def _confirmed_action(client, url: str, action: str, rows):
    return client.post(
        url,
        {"action": action, "_selected_action": [str(row.pk) for row in rows], "confirm": "yes"},
    )


def erase_on_list(client, *leads):
    """The leads list's *Erase the person's data* on `leads`, confirmed."""
    return _confirmed_action(client, "/admin/leads/lead/", "erase_subject_data", leads)


def fulfil_erasure(client, *requests):
    """The requests list's *Erase* on `requests`, confirmed."""
    return _confirmed_action(
        client, "/admin/compliance/subjectrequest/", "fulfil_erasure", requests
    )


def tags_of(organization, lead) -> set[str]:
    """The names of the tags `lead` carries."""
    with tenant_context(organization):
        return set(LeadTag.objects.filter(lead_id=lead.pk).values_list("tag__name", flat=True))


def live_tags(organization) -> dict[str, int]:
    """Each live tag's name, with how many leads carry it."""
    with tenant_context(organization):
        return {tag.name: tag.lead_tags.count() for tag in Tag.objects.all()}


def erase_as(organization, admin, person):
    """Erase `person`'s lead through the service, as `admin` would."""
    with factories.acting_as(admin, organization):
        return compliance_services.erase_subject(lead=person.lead, acting_user=admin)


def tagged_lead(organization, name: str, *tags: Tag) -> Lead:
    """A new lead of `name` carrying `tags` (another lead carrying a person's tag shares
    it, and the tag outlives that person's erasure)."""
    with tenant_context(organization):
        lead = lead_services.lead_create(
            acting_user=None,
            data={"contact_name": name},
            company_data={"name": f"{name} Ltd"},
            allow_duplicate=True,
        )
        return lead_services.lead_set_tags(lead=lead, tags=list(tags), acting_user=None)
