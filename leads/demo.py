"""Demo data: a few hundred trade businesses with leads, tags and interactions.

Deterministic per organization (seeded by its slug) and idempotent: every company carries
`metadata["demo_key"]`, and a second call creates only what is missing, so it changes
nothing once loaded. Called by `manage.py seed_demo` inside the organization's context.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from compliance.choices import ConsentPurpose
from leads import lead_forms, scoring, services
from leads.choices import (
    POSITIVE_OUTCOMES,
    BusinessType,
    CompanySize,
    Direction,
    FormField,
    InteractionType,
    LeadSource,
    LeadStatus,
    Outcome,
    WebsiteStatus,
)
from leads.models import Company, Interaction, Lead, LeadForm, LeadTag, Tag
from leads.normalize import normalize_phone, website_domain
from leads.selectors import CONTACT_TYPES

COMPANIES_PER_ORGANIZATION = 250
DEMO_KEY = "demo_key"
DEMO_FORM = "Website enquiry"

TRADES = {
    BusinessType.PLUMBER: ["Plumbing", "Plumbing & Heating", "Drains"],
    BusinessType.ELECTRICIAN: ["Electrical", "Electrics", "Sparks"],
    BusinessType.ROOFER: ["Roofing", "Roofing & Guttering", "Slate & Tile"],
    BusinessType.HVAC: ["Heating & Cooling", "Air Conditioning", "Boilers"],
    BusinessType.BUILDER: ["Builders", "Construction", "Extensions"],
    BusinessType.LANDSCAPER: ["Landscapes", "Gardens", "Groundworks"],
    BusinessType.CARPENTER: ["Joinery", "Carpentry", "Kitchens"],
    BusinessType.PAINTER: ["Decorators", "Painting & Decorating"],
    BusinessType.LOCKSMITH: ["Locksmiths", "Security"],
    BusinessType.CLEANER: ["Cleaning Services", "Window Cleaning"],
}
NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts",
    "Walker", "Wright", "Hughes", "Green", "Hall", "Wood", "Clarke", "Harris", "Patel",
    "Baker", "Turner", "Bright", "Swift", "Reliable", "Premier", "Northern", "Castle",
]  # fmt: skip
FIRST_NAMES = [
    "Dave", "Sarah", "Gary", "Emma", "Steve", "Priya", "Mark", "Claire", "Tom", "Aisha",
    "Lee", "Joanne", "Paul", "Kelly", "Craig", "Megan",
]  # fmt: skip
CITIES = [
    ("Leeds", "West Yorkshire", "LS"), ("Manchester", "Greater Manchester", "M"),
    ("Bristol", "Bristol", "BS"), ("Sheffield", "South Yorkshire", "S"),
    ("Nottingham", "Nottinghamshire", "NG"), ("Cardiff", "Glamorgan", "CF"),
    ("Leicester", "Leicestershire", "LE"), ("York", "North Yorkshire", "YO"),
]  # fmt: skip
STREETS = ["High", "Station", "Mill", "Park", "Church", "Victoria"]
STATUSES = [
    (LeadStatus.NEW, 40),
    (LeadStatus.CONTACTED, 25),
    (LeadStatus.NURTURING, 10),
    (LeadStatus.QUALIFIED, 12),
    (LeadStatus.UNQUALIFIED, 5),
    (LeadStatus.LOST, 5),
    (LeadStatus.CONVERTED, 3),
]
TAGS = {"hot": "#dc2626", "needs-photos": "#2563eb", "has-van-signage": "#16a34a"}
OUTCOMES = [o for o in Outcome if o != Outcome.OTHER]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def load_demo(*, organization, users: dict) -> None:
    """Create the organization's demo leads that are not there yet (see module doc)."""
    rng = random.Random(f"leads-demo-{organization.slug}")
    existing = set(
        Company.all_objects.filter(metadata__has_key=DEMO_KEY).values_list(
            f"metadata__{DEMO_KEY}", flat=True
        )
    )
    tags = _tags(organization)
    _lead_form()
    weights = scoring.weights_for(services.organization_settings(organization.pk))
    now = timezone.now().replace(microsecond=0)
    owners = [users.get("rep")] * 2 + [users.get("manager"), None]
    companies, leads, interactions, lead_tags = [], [], [], []
    for index in range(COMPANIES_PER_ORGANIZATION):
        # Draw every random value even for existing rows, so each row stays the same.
        company, lead, touches, tag_names = _generate(rng, organization, index, owners, now)
        if company.metadata[DEMO_KEY] in existing:
            continue
        recent = sum(1 for i in touches if i.type != InteractionType.NOTE)
        positive = sum(1 for i in touches if i.outcome in POSITIVE_OUTCOMES)
        services.apply_score(lead, weights, recent, positive)
        companies.append(company)
        leads.append(lead)
        interactions.extend(touches)
        lead_tags.extend(
            LeadTag(organization_id=organization.pk, lead=lead, tag=tags[name])
            for name in tag_names
        )
    if not companies:
        return
    user = users.get("admin")
    bulk_create_with_history(companies, Company, batch_size=500, default_user=user)
    bulk_create_with_history(leads, Lead, batch_size=500, default_user=user)
    bulk_create_with_history(interactions, Interaction, batch_size=1000, default_user=user)
    bulk_create_with_history(lead_tags, LeadTag, batch_size=1000, default_user=user)


def _lead_form() -> None:
    """The organization's website enquiry form (leads.lead_forms), once."""
    if not LeadForm.all_objects.filter(name=DEMO_FORM).exists():
        lead_forms.lead_form_create(
            acting_user=None,
            data={
                "name": DEMO_FORM,
                "title": "Tell us about your business",
                "consent_text": "I agree to be contacted about a new website.",
                "consent_purposes": [ConsentPurpose.CONTACT],
                "required_fields": [FormField.CONTACT_EMAIL],
            },
        )


def _tags(organization) -> dict[str, Tag]:
    tags = {}
    for name, color in TAGS.items():
        tag = Tag.objects.filter(name__iexact=name).first()
        if tag is None:
            tag = Tag.objects.create(organization=organization, name=name, color=color)
        tags[name] = tag
    return tags


def _generate(rng: random.Random, organization, index: int, owners: list, now: dt.datetime):
    trade = rng.choice(list(TRADES))
    surname = rng.choice(NAMES)
    name = f"{surname} {rng.choice(TRADES[trade])}"
    if rng.random() < 0.3:
        name = f"{surname} & Sons {rng.choice(TRADES[trade])}"
    city, region, postcode = rng.choice(CITIES)
    website_status = rng.choices(list(WebsiteStatus), weights=[35, 40, 25])[0]
    domain = f"{_slug(name)}{index}.example"
    website = "" if website_status == WebsiteStatus.NONE else f"https://www.{domain}/"
    phone = f"01632 960{index:03d}"
    rating = round(rng.uniform(3.2, 5.0), 1) if rng.random() < 0.8 else None
    presence = {"website_status": str(website_status)}
    if rating is not None:
        presence.update(google_rating=rating, google_review_count=rng.randint(1, 180))
    company = Company(
        organization_id=organization.pk,
        name=name,
        business_type=trade,
        size=rng.choice(list(CompanySize)),
        phone=phone,
        phone_normalized=normalize_phone(phone),
        email=f"info@{domain}",
        email_normalized=f"info@{domain}",
        website=website,
        website_domain=website_domain(website),
        address_line1=f"{rng.randint(1, 240)} {rng.choice(STREETS)} Road",
        city=city,
        region=region,
        postal_code=f"{postcode}{rng.randint(1, 28)} {rng.randint(1, 9)}{rng.choice('ABDEFHJ')}"
        f"{rng.choice('LNPQRSTUWXYZ')}",
        country="GB",
        online_presence=presence,
        metadata={DEMO_KEY: f"{organization.slug}-{index}"},
        created_at=now - dt.timedelta(days=rng.randint(1, 240)),
    )
    status = rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0]
    owner = rng.choice(owners)
    first = rng.choice(FIRST_NAMES)
    lead = Lead(
        organization_id=organization.pk,
        company=company,
        contact_name=f"{first} {surname}",
        contact_title=rng.choice(["Owner", "Director", "Office manager"]),
        contact_email=f"{first.lower()}@{domain}",
        contact_email_normalized=f"{first.lower()}@{domain}",
        status=status,
        source=rng.choice([s for s in LeadSource if s != LeadSource.IMPORT]),
        assigned_to=owner,
        consent_to_contact=rng.random() < 0.6,
        do_not_contact=rng.random() < 0.03,
        next_follow_up_at=now + dt.timedelta(days=rng.randint(1, 30))
        if status in (LeadStatus.CONTACTED, LeadStatus.NURTURING, LeadStatus.QUALIFIED)
        else None,
        created_at=company.created_at,
        status_changed_at=company.created_at,
    )
    touches = _interactions(rng, lead, owner, now, 0 if status == LeadStatus.NEW else 6)
    contacts = [i.occurred_at for i in touches if i.type in CONTACT_TYPES]
    lead.last_contacted_at = max(contacts) if contacts else None
    tag_names = [name for name in TAGS if rng.random() < 0.15]
    return company, lead, touches, tag_names


def _interactions(rng: random.Random, lead: Lead, owner, now: dt.datetime, most: int):
    touches = []
    for _ in range(rng.randint(0, most) if most else 0):
        kind = rng.choice(list(InteractionType))
        occurred = now - dt.timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 600))
        outcome = rng.choice(OUTCOMES) if kind in CONTACT_TYPES else ""
        analysis = {}
        if kind == InteractionType.AI_CALL:
            analysis = {
                "sentiment": rng.choice(["positive", "neutral", "negative"]),
                "intent": rng.choice(["wants a quote", "not now", "asked for examples"]),
                "summary": f"Spoke with {lead.contact_name} about a new website.",
                "next_steps": ["Send portfolio", "Call back next week"][: rng.randint(0, 2)],
            }
        touches.append(
            Interaction(
                organization_id=lead.organization_id,
                lead=lead,
                type=kind,
                direction=Direction.INTERNAL
                if kind == InteractionType.NOTE
                else rng.choice([Direction.OUTBOUND, Direction.OUTBOUND, Direction.INBOUND]),
                subject=f"{kind.label} with {lead.contact_name}",
                content=rng.choice(
                    [
                        "Interested in a new site before spring.",
                        "Asked about prices for a five-page site.",
                        "No answer, left a message.",
                        "Happy with current site for now.",
                    ]
                ),
                occurred_at=occurred,
                created_at=occurred,
                duration_seconds=rng.randint(30, 900)
                if kind in (InteractionType.CALL, InteractionType.AI_CALL)
                else None,
                outcome=outcome,
                ai_analysis=analysis,
                created_by=owner,
            )
        )
    return touches
