"""Rows of the generated tenants, as lines of COPY text.

Columns come from the Django models: each `Table` names the columns the generator
fills and appends the model's default for every other concrete column, so the rows stay
consistent with the app's models when fields are added. Generated columns (tsvector,
weighted_value) are left to PostgreSQL. Values never contain tabs, newlines or
backslashes, so they need no COPY escaping.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
from dataclasses import dataclass, field

from django.contrib.postgres.fields import ArrayField
from django.db import models

NULL = r"\N"


def uid(rng: random.Random) -> str:
    """A random UUID as 32 hex digits (PostgreSQL's uuid input accepts that form)."""
    return f"{rng.getrandbits(128):032x}"


def copy_text(value) -> str:
    """A value as a field of COPY's text format. JSON is written by `json.dumps`, whose
    output has no raw tab or newline but may hold backslashes (its escapes of quotes,
    control and non-ASCII characters), which COPY would read as its own: they are doubled."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return json.dumps(value).replace("\\", "\\\\")
    return str(value)


class Table:
    """One model's table: the generator's columns first, the model defaults after."""

    def __init__(self, model: type[models.Model], columns: tuple[str, ...]):
        self.name = model._meta.db_table
        self.columns = columns
        concrete = {f.column: f for f in model._meta.concrete_fields if not f.generated}
        unknown = set(columns) - set(concrete)
        if unknown:
            raise ValueError(f"{self.name}: no columns {sorted(unknown)}")
        rest = []
        for column, f in concrete.items():
            if column in columns:
                continue
            if f.has_default():
                value = f.get_default()
                if isinstance(f, ArrayField):
                    value = "{" + ",".join(map(str, value)) + "}"
            elif f.null:
                value = None
            elif f.empty_strings_allowed:
                value = ""
            else:
                raise ValueError(f"{self.name}.{column} is NOT NULL and has no default")
            rest.append((column, copy_text(value)))
        self.all_columns = columns + tuple(column for column, _ in rest)
        self.suffix = "".join("\t" + text for _, text in rest) + "\n"
        self.column_list = ", ".join(f'"{c}"' for c in self.all_columns)

    def line(self, *values) -> str:
        return "\t".join(NULL if v is None else v for v in values) + self.suffix


@functools.cache
def tables() -> dict[str, Table]:
    """The tables the generator fills, keyed by short name."""
    from accounts.models import Membership, Organization, Role, RolePermission, Team, User
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
    from leads.models import Company, Interaction, Lead, LeadTag, Tag

    stamp = ("id", "organization_id", "created_at", "updated_at")
    return {
        "organization": Table(
            Organization, ("id", "name", "slug", "plan", "created_at", "updated_at")
        ),
        "user": Table(
            User,
            (
                "id",
                "email",
                "full_name",
                "password",
                "is_staff",
                "date_joined",
                "default_organization_id",
            ),
        ),
        "role": Table(Role, (*stamp, "name", "slug", "is_system")),
        "rolepermission": Table(RolePermission, (*stamp, "role_id", "resource", "action", "scope")),
        "team": Table(Team, (*stamp, "name", "manager_id")),
        "membership": Table(Membership, (*stamp, "user_id", "role_id", "team_id", "joined_at")),
        "tag": Table(Tag, (*stamp, "name", "color")),
        "pipeline": Table(Pipeline, (*stamp, "name", "is_default")),
        "stage": Table(
            PipelineStage,
            (*stamp, "pipeline_id", "name", "position", "probability", "is_won", "is_lost"),
        ),
        "campaign": Table(Campaign, (*stamp, "name", "status", "script", "launched_at")),
        "company": Table(
            Company,
            (
                *stamp,
                "name",
                "business_type",
                "size",
                "phone",
                "email",
                "website",
                "address_line1",
                "city",
                "region",
                "postal_code",
                "online_presence",
                "phone_normalized",
                "email_normalized",
                "website_domain",
            ),
        ),
        "lead": Table(
            Lead,
            (
                *stamp,
                "company_id",
                "contact_name",
                "contact_title",
                "contact_email",
                "contact_phone",
                "status",
                "source",
                "lead_score",
                "score_breakdown",
                "scored_at",
                "assigned_to_id",
                "last_contacted_at",
                "next_follow_up_at",
                "status_changed_at",
                "consent_to_contact",
                "notes",
                "contact_phone_normalized",
                "contact_email_normalized",
            ),
        ),
        "leadtag": Table(LeadTag, (*stamp, "lead_id", "tag_id")),
        "interaction": Table(
            Interaction,
            (
                *stamp,
                "lead_id",
                "type",
                "direction",
                "subject",
                "content",
                "occurred_at",
                "duration_seconds",
                "outcome",
                "created_by_id",
            ),
        ),
        "opportunity": Table(
            Opportunity,
            (
                *stamp,
                "lead_id",
                "pipeline_id",
                "stage_id",
                "name",
                "value",
                "probability",
                "owner_id",
                "expected_close_date",
                "status",
                "lost_reason",
                "closed_at",
            ),
        ),
        "proposal": Table(
            Proposal,
            (
                *stamp,
                "opportunity_id",
                "number",
                "title",
                "status",
                "subtotal",
                "discount_total",
                "tax_total",
                "total",
                "sent_at",
                "accepted_at",
                "created_by_id",
            ),
        ),
        "lineitem": Table(
            ProposalLineItem,
            (
                *stamp,
                "proposal_id",
                "position",
                "description",
                "quantity",
                "unit_price",
                "tax_rate",
                "subtotal",
                "tax_amount",
                "total",
            ),
        ),
        "contract": Table(
            Contract,
            (
                *stamp,
                "opportunity_id",
                "proposal_id",
                "number",
                "title",
                "status",
                "value",
                "signed_at",
            ),
        ),
        "aicall": Table(
            AICall,
            (
                *stamp,
                "campaign_id",
                "lead_id",
                "provider",
                "provider_call_id",
                "status",
                "started_at",
                "ended_at",
                "duration_seconds",
                "summary",
                "sentiment",
                "outcome",
                "result_recorded_at",
                "interaction_id",
            ),
        ),
        "task": Table(
            Task,
            (
                *stamp,
                "title",
                "type",
                "priority",
                "status",
                "due_at",
                "assigned_to_id",
                "lead_id",
                "opportunity_id",
                "completed_at",
                "created_by_id",
            ),
        ),
    }


# Vocabulary: syllables give ~2,000 distinct surnames, so a name search is selective.
_HEADS = [
    "Ash",
    "Bar",
    "Bel",
    "Black",
    "Bram",
    "Brook",
    "Cal",
    "Car",
    "Chad",
    "Clay",
    "Craw",
    "Dal",
    "Dun",
    "Elm",
    "Fair",
    "Fen",
    "Fox",
    "Glen",
    "Gold",
    "Hal",
    "Hart",
    "Hay",
    "Holm",
    "Kel",
    "Kin",
    "Lang",
    "Lin",
    "Mar",
    "Mer",
    "Mill",
    "Nor",
    "Oak",
    "Pen",
    "Ral",
    "Red",
    "Ross",
    "Rye",
    "Stan",
    "Thorn",
    "Wake",
    "Wal",
    "Wes",
    "Whit",
    "Wil",
    "Win",
    "Wood",
    "Yar",
    "Ald",
    "Bre",
]
_TAILS = [
    "brook",
    "bury",
    "by",
    "combe",
    "cott",
    "dale",
    "den",
    "don",
    "field",
    "ford",
    "gate",
    "ham",
    "hill",
    "holt",
    "hurst",
    "ington",
    "ley",
    "low",
    "mere",
    "mont",
    "more",
    "ridge",
    "shaw",
    "stead",
    "ston",
    "ton",
    "well",
    "wick",
    "win",
    "worth",
    "ey",
    "ard",
    "ock",
    "ell",
    "ett",
    "ins",
    "iss",
    "man",
    "son",
]
FIRST_NAMES = [
    "Alice",
    "Amir",
    "Ben",
    "Carla",
    "Chen",
    "Dan",
    "Dev",
    "Ella",
    "Erin",
    "Farah",
    "Gus",
    "Hana",
    "Ian",
    "Ivy",
    "Jack",
    "Jo",
    "Kai",
    "Kate",
    "Leo",
    "Lena",
    "Max",
    "Mia",
    "Nina",
    "Noah",
    "Omar",
    "Pia",
    "Raj",
    "Rosa",
    "Sam",
    "Sara",
    "Tom",
    "Uma",
    "Vic",
    "Wen",
    "Yusuf",
    "Zoe",
]
TRADES = {
    "plumber": "Plumbing",
    "electrician": "Electrical",
    "roofer": "Roofing",
    "hvac": "Heating",
    "builder": "Builders",
    "landscaper": "Landscapes",
    "carpenter": "Joinery",
    "painter": "Decorators",
    "locksmith": "Locksmiths",
    "cleaner": "Cleaning",
    "pest_control": "Pest Control",
    "other": "Services",
}
COMPANY_SUFFIXES = ("Ltd", "& Sons", "Services", "Co", "Group", "Bros", "and Partners", "")
CITIES = (
    ("Leeds", "West Yorkshire", "LS"),
    ("Bristol", "Avon", "BS"),
    ("Manchester", "Greater Manchester", "M"),
    ("Norwich", "Norfolk", "NR"),
    ("York", "North Yorkshire", "YO"),
    ("Exeter", "Devon", "EX"),
    ("Derby", "Derbyshire", "DE"),
    ("Bath", "Somerset", "BA"),
    ("Oxford", "Oxfordshire", "OX"),
    ("Cardiff", "Glamorgan", "CF"),
    ("Glasgow", "Lanarkshire", "G"),
    ("Brighton", "East Sussex", "BN"),
)
WEBSITE_STATUSES = ("none", "outdated", "modern")
TITLES = ("Owner", "Director", "Office Manager", "Partner", "Founder", "")
NOTE_WORDS = [
    "wants",
    "new",
    "website",
    "quote",
    "follow",
    "up",
    "next",
    "week",
    "price",
    "sensitive",
    "prefers",
    "email",
    "busy",
    "season",
    "mobile",
    "friendly",
    "bookings",
    "online",
    "reviews",
    "gallery",
    "photos",
    "logo",
    "refresh",
    "callback",
    "morning",
    "only",
    "competitor",
    "site",
    "outdated",
]
SUBJECTS = {
    "call": ("Intro call", "Follow-up call", "Pricing call", "Check-in call"),
    "email": ("Website proposal", "Quick question", "Your online presence", "Re: quote"),
    "sms": ("Reminder", "Thanks for your time"),
    "meeting": ("Site visit", "Design review", "Kick-off meeting"),
    "note": ("Internal note", "Research"),
    "ai_call": ("AI qualification call",),
    "website_visit": ("Visited pricing page", "Visited portfolio"),
}
INTERACTION_TYPES = ("call", "email", "email", "call", "note", "sms", "meeting", "website_visit")
OUTCOMES = (
    "connected",
    "no_answer",
    "voicemail",
    "interested",
    "not_interested",
    "callback_requested",
    "meeting_booked",
)
LEAD_STATUSES = (  # qualified, converted and lost leads (20%) have an opportunity
    ("new", 35),
    ("contacted", 25),
    ("qualified", 10),
    ("unqualified", 10),
    ("nurturing", 10),
    ("converted", 5),
    ("lost", 5),
)
LEAD_SOURCES = (
    "google_maps",
    "directory",
    "website",
    "referral",
    "cold_call",
    "campaign",
    "import",
)
TAGS = (
    ("hot", "#dc2626"),
    ("needs-photos", "#2563eb"),
    ("no-website", "#16a34a"),
    ("callback", "#ca8a04"),
    ("vip", "#9333ea"),
    ("seasonal", "#0891b2"),
)


def surname(rng: random.Random) -> str:
    return rng.choice(_HEADS) + rng.choice(_TAILS)


@dataclass
class Clock:
    """Pre-formatted timestamps over the last two years: index i is older than i + 1."""

    now: dt.datetime
    points: int = 100_000
    stamps: list[str] = field(init=False)
    days: list[str] = field(init=False)

    def __post_init__(self):
        span = dt.timedelta(days=730)
        step = span / self.points
        start = self.now - span
        self.stamps = [
            (start + step * i).strftime("%Y-%m-%d %H:%M:%S+00") for i in range(self.points)
        ]
        self.days = [
            (self.now + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(-60, 121)
        ]

    def at(self, i: int) -> str:
        return self.stamps[min(max(i, 0), self.points - 1)]

    def future_day(self, rng: random.Random) -> str:
        return self.days[rng.randrange(60, len(self.days))]

    def recent(self, rng: random.Random, days: int = 30) -> int:
        """An index within the last `days` days."""
        return self.points - 1 - rng.randrange(int(self.points * days / 730))
