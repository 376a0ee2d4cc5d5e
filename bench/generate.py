"""Fill a benchmark database with skewed, consistent tenants, fast.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.generate --scale 1m

Scale 1m: 1,000 organizations, 1,000,000 companies and leads, ~5,000,000 interactions,
~200,000 opportunities with proposals, contracts, tasks and AI calls; 100k and 10k scale
down (100 and 10 organizations). Organization sizes follow a power law whose exponent
makes the largest organization hold ~13% of the leads.

The database (smartweb_bench_<scale>) is dropped, created and migrated by the owner role,
then loaded as the owner role, which is subject to the tenant policies (FORCE RLS). COPY
FROM is refused on a table under RLS, so each batch is COPYed into a temporary staging
table and moved by INSERT … SELECT inside a transaction whose organization context is
set like the app's (`set_config(…, true)`): every row passes the policy's WITH CHECK and
every composite foreign key. Non-unique indexes of the large tables are dropped during
the load and recreated from their saved definitions (unique ones and every constraint
stay); then VACUUM ANALYZE.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import SimpleNamespace

import psycopg
from psycopg import sql

from bench import databases
from bench.rows import (
    CITIES,
    COMPANY_SUFFIXES,
    FIRST_NAMES,
    INTERACTION_TYPES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    NOTE_WORDS,
    OUTCOMES,
    SUBJECTS,
    TAGS,
    TITLES,
    TRADES,
    WEBSITE_STATUSES,
    Clock,
    copy_text,
    surname,
    tables,
    uid,
)
from leads import scoring

LARGEST_SHARE = 0.13
SCORE_WEIGHTS = scoring.weights_for(None)  # the organizations keep the defaults
LEADS_PER_ORGANIZATION = 1_000
CHUNK_LEADS = 10_000
INTERACTIONS_PER_LEAD = 5
AI_CALL_SHARE = 0.1
TAG_SHARE = 0.2
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 - the generated users' password
# Tables filled per chunk: their non-unique indexes are rebuilt after the load.
BULK_TABLES = (
    "company",
    "lead",
    "leadtag",
    "interaction",
    "opportunity",
    "proposal",
    "lineitem",
    "contract",
    "aicall",
    "task",
)
SESSION = (
    "SET synchronous_commit = off; SET temp_buffers = '256MB'; SET work_mem = '64MB';"
    " SET maintenance_work_mem = '1GB';"
)


@dataclass
class OrganizationPlan:
    index: int
    id: str
    leads: int
    admin: str
    managers: list[str]
    reps: list[str]
    viewer: str
    teams: list[str] = field(default_factory=list)
    rep_team: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    pipeline: str = ""
    stages: list[tuple[str, str, bool, bool]] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return f"bench-{self.index:04d}"

    @property
    def domain(self) -> str:
        return f"{self.slug}.bench.test"


def organization_sizes(leads: int, organizations: int, largest_share: float) -> list[int]:
    """Power-law sizes, largest first, summing to `leads`; the largest holds the share."""
    low, high = 0.0, 4.0
    for _ in range(60):
        exponent = (low + high) / 2
        weights = [rank**-exponent for rank in range(1, organizations + 1)]
        if 1 / sum(weights) < largest_share:
            low = exponent
        else:
            high = exponent
    total = sum(weights)
    sizes = [max(1, int(leads * w / total)) for w in weights]
    sizes[0] += leads - sum(sizes)
    return sizes


def plan_organizations(leads: int, organizations: int, seed: int) -> list[OrganizationPlan]:
    rng = random.Random(seed)
    plans = []
    for index, size in enumerate(organization_sizes(leads, organizations, LARGEST_SHARE)):
        reps = max(2, min(80, size // 2_000))
        plans.append(
            OrganizationPlan(
                index=index,
                id=uid(rng),
                leads=size,
                admin=uid(rng),
                managers=[uid(rng) for _ in range(max(1, reps // 8))],
                reps=[uid(rng) for _ in range(reps)],
                viewer=uid(rng),
            )
        )
    return plans


# ---------------------------------------------------------------------------------------
# Loading (one psycopg connection per worker process, as the owner role)


class Loader:
    """Moves COPY text into tenant tables through staging tables, one transaction each."""

    def __init__(self, url: str):
        self.tables = tables()
        # Autocommit: every `transaction()` block below is a real BEGIN … COMMIT.
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(SESSION)
        for table in self.tables.values():
            # Only the columns the rows carry, without constraints: those the database
            # keeps (a lead's listed tags and company) get their default or their
            # trigger's value in the table itself.
            self.conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE {} ON COMMIT DELETE ROWS AS SELECT {} FROM {} WITH NO DATA"
                ).format(
                    sql.Identifier(f"stage_{table.name}"),
                    sql.SQL(table.column_list),
                    sql.Identifier(table.name),
                )
            )

    def copy_direct(self, name: str, lines: list[str]) -> None:
        """Tables outside RLS (organizations, users) take COPY as they are."""
        table = self.tables[name]
        statement = f'COPY "{table.name}" ({table.column_list}) FROM STDIN'
        with self.conn.cursor() as cur, cur.copy(statement) as copy:
            copy.write("".join(lines))

    def insert(self, cur, name: str, lines: list[str]) -> None:
        if not lines:
            return
        table = self.tables[name]
        with cur.copy(f'COPY "stage_{table.name}" ({table.column_list}) FROM STDIN') as copy:
            copy.write("".join(lines))
        cur.execute(
            f'INSERT INTO "{table.name}" ({table.column_list})'
            f' SELECT {table.column_list} FROM "stage_{table.name}"'
        )

    def in_organization(self, organization_id: str, batches: dict[str, list[str]]) -> None:
        """One transaction in the organization's context, like a request of the app."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(
                "SELECT set_config('smartweb.organization_id', %s, true)", [organization_id]
            )
            for name, lines in batches.items():
                self.insert(cur, name, lines)

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------------------------------
# Rows


@dataclass
class Context:
    now: dt.datetime
    password_hash: str

    def __post_init__(self):
        self.clock = Clock(self.now)


def people_rows(plans: list[OrganizationPlan], ctx: Context) -> tuple[list[str], list[str]]:
    organizations, users = [], []
    created = ctx.clock.at(0)
    org_t, user_t = tables()["organization"], tables()["user"]
    for plan in plans:
        plan_kind = (
            "enterprise" if plan.index < 10 else "professional" if plan.leads > 500 else "starter"
        )
        organizations.append(
            org_t.line(
                plan.id, f"Bench Agency {plan.index:04d}", plan.slug, plan_kind, created, created
            )
        )
        people = [("admin", plan.admin), ("viewer", plan.viewer)]
        people += [(f"manager{i}", u) for i, u in enumerate(plan.managers)]
        people += [(f"rep{i}", u) for i, u in enumerate(plan.reps)]
        for n, (local, user_id) in enumerate(people):
            name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {local.title()}"
            users.append(
                user_t.line(
                    user_id,
                    f"{local}@{plan.domain}",
                    name,
                    ctx.password_hash,
                    "t",
                    created,
                    plan.id,
                )
            )
    return organizations, users


def setup_rows(plan: OrganizationPlan, ctx: Context, rng: random.Random) -> dict[str, list[str]]:
    """Default roles and their permissions, teams, memberships, tags, pipeline, campaigns."""
    from crm.services import DEFAULT_STAGES
    from smartweb.rbac import DEFAULT_ROLES

    t = tables()
    org = plan.id
    ts = ctx.clock.at(0)
    rows: dict[str, list[str]] = {
        name: []
        for name in (
            "role",
            "rolepermission",
            "team",
            "membership",
            "tag",
            "pipeline",
            "stage",
            "campaign",
        )
    }
    roles = {}
    for slug, (name, grants) in DEFAULT_ROLES.items():
        roles[slug] = role_id = uid(rng)
        rows["role"].append(t["role"].line(role_id, org, ts, ts, name, slug, "t"))
        for (resource, action), scope in grants.items():
            rows["rolepermission"].append(
                t["rolepermission"].line(uid(rng), org, ts, ts, role_id, resource, action, scope)
            )
    plan.teams = [uid(rng) for _ in plan.managers]
    for i, (team_id, manager) in enumerate(zip(plan.teams, plan.managers, strict=True)):
        rows["team"].append(t["team"].line(team_id, org, ts, ts, f"Team {i + 1}", manager))
    plan.rep_team = {rep: plan.teams[i % len(plan.teams)] for i, rep in enumerate(plan.reps)}
    members = [(plan.admin, "org_admin", None), (plan.viewer, "read_only", None)]
    members += [
        (m, "sales_manager", team) for m, team in zip(plan.managers, plan.teams, strict=True)
    ]
    members += [(r, "sales_rep", plan.rep_team[r]) for r in plan.reps]
    for user_id, role, team in members:
        rows["membership"].append(
            t["membership"].line(uid(rng), org, ts, ts, user_id, roles[role], team, ts)
        )
    for name, color in TAGS:
        tag_id = uid(rng)
        plan.tags.append(tag_id)
        rows["tag"].append(t["tag"].line(tag_id, org, ts, ts, name, color))
    plan.pipeline = uid(rng)
    rows["pipeline"].append(t["pipeline"].line(plan.pipeline, org, ts, ts, "Sales pipeline", "t"))
    # The stages of crm.services.pipeline_create_default, the app's organization setup step.
    for position, (name, percent, won, lost) in enumerate(DEFAULT_STAGES):
        stage_id, probability = uid(rng), f"{percent}.00"
        plan.stages.append((stage_id, probability, won, lost))
        rows["stage"].append(
            t["stage"].line(
                stage_id,
                org,
                ts,
                ts,
                plan.pipeline,
                name,
                str(position),
                probability,
                "t" if won else "f",
                "t" if lost else "f",
            )
        )
    for name in ("Spring outreach", "Website audit calls"):
        campaign_id = uid(rng)
        plan.campaigns.append(campaign_id)
        rows["campaign"].append(
            t["campaign"].line(
                campaign_id,
                org,
                ts,
                ts,
                name,
                "active",
                "Introduce our website packages and book a call.",
                ts,
            )
        )
    return rows


def _weighted(options: tuple[tuple[str, int], ...]) -> list[str]:
    return [value for value, weight in options for _ in range(weight)]


def chunk_rows(plan: OrganizationPlan, start: int, count: int, ctx: Context, seed: int) -> dict:
    """Companies and leads [start, start + count) of one organization, with their
    interactions, tags, AI calls, opportunities, proposals, contracts and tasks."""
    rng = random.Random(seed)
    t = tables()
    clock = ctx.clock
    org = plan.id
    out: dict[str, list[str]] = {name: [] for name in BULK_TABLES}
    company_t, lead_t, tag_t, inter_t = t["company"], t["lead"], t["leadtag"], t["interaction"]
    statuses = _weighted(LEAD_STATUSES)
    trades = list(TRADES.items())
    open_stages = [s for s in plan.stages if not (s[2] or s[3])]
    won_stage = next(s for s in plan.stages if s[2])
    lost_stage = next(s for s in plan.stages if s[3])
    last = clock.points - 1
    for n in range(start, start + count):
        created_i = rng.randrange(last - 1000)
        created = clock.at(created_i)
        family = surname(rng)
        kind, trade = rng.choice(trades)
        city, region, postcode = rng.choice(CITIES)
        domain = f"{family.lower()}{kind.replace('_', '')}{n}.co.uk"
        phone_digits = f"{rng.randrange(10**9, 10**10)}"
        company_id, lead_id = uid(rng), uid(rng)
        website_status, rating = rng.choice(WEBSITE_STATUSES), round(rng.uniform(2.5, 5), 1)
        reviews, size = rng.randrange(300), rng.choice(("solo", "small", "medium", "large"))
        presence = {
            "website_status": website_status,
            "google_rating": rating,
            "google_review_count": reviews,
        }
        company_phone, company_email = f"+44{phone_digits}", f"info@{domain}"
        out["company"].append(
            company_t.line(
                company_id,
                org,
                created,
                created,
                f"{family} {trade} {rng.choice(COMPANY_SUFFIXES)}".rstrip(),
                kind,
                size,
                f"+44 {phone_digits}",
                f"info@{domain}",
                f"https://www.{domain}",
                f"{rng.randrange(1, 200)} High Street",
                city,
                region,
                f"{postcode}{rng.randrange(1, 30)} {rng.randrange(1, 9)}AB",
                copy_text(presence),
                company_phone,
                company_email,
                domain,
            )
        )
        first = rng.choice(FIRST_NAMES)
        status = rng.choice(statuses)
        assignee = rng.choice(plan.reps) if rng.random() < 0.9 else None
        touched = clock.at(rng.randrange(created_i, last))
        email, phone = f"{first.lower()}@{domain}", f"+447{phone_digits[:9]}"
        consent = rng.random() < 0.6
        # floor() of an exponential of mean m averages about m - 0.5
        interactions = min(25, int(rng.expovariate(1 / (INTERACTIONS_PER_LEAD + 0.5))))
        # the recent ones among them, and the positive ones among those
        recent = min(interactions, rng.randrange(6))
        positive = rng.randrange(min(recent, 2) + 1)
        # Scored as the app scores its rows (leads.scoring.inputs_for), with the breakdown
        # it stores (~680 bytes of JSON a lead, which a lead's page reads).
        scored = SimpleNamespace(
            company=SimpleNamespace(
                online_presence=presence,
                business_type=kind,
                size=size,
                phone_normalized=company_phone,
                email_normalized=company_email,
            ),
            contact_phone_normalized=phone,
            contact_email_normalized=email,
            consent_to_contact=consent,
            do_not_contact=False,
        )
        score, breakdown = scoring.compute(
            scoring.inputs_for(scored, recent_interactions=recent, positive_outcomes=positive),
            SCORE_WEIGHTS,
        )
        out["lead"].append(
            lead_t.line(
                lead_id,
                org,
                created,
                touched,
                company_id,
                f"{first} {family}",
                rng.choice(TITLES),
                email,
                f"07{phone_digits[:9]}",
                status,
                rng.choice(LEAD_SOURCES),
                str(score),
                copy_text(breakdown),
                touched,
                assignee,
                touched,
                clock.future_day(rng) if rng.random() < 0.3 else None,
                touched,
                "t" if consent else "f",
                " ".join(rng.sample(NOTE_WORDS, 5)),
                phone,
                email,
            )
        )
        if rng.random() < TAG_SHARE:
            out["leadtag"].append(
                tag_t.line(uid(rng), org, created, created, lead_id, rng.choice(plan.tags))
            )
        for _ in range(interactions):
            _interaction(
                out,
                inter_t,
                rng,
                org,
                lead_id,
                assignee,
                clock,
                created_i,
                rng.choice(INTERACTION_TYPES),
                SUBJECTS,
                OUTCOMES,
            )
        if rng.random() < AI_CALL_SHARE:
            _ai_call(out, t, rng, plan, lead_id, clock, created_i, SUBJECTS)
        if status in ("qualified", "converted", "lost"):
            stage = (
                won_stage
                if status == "converted"
                else lost_stage
                if status == "lost"
                else rng.choice(open_stages)
            )
            _opportunity(
                out,
                t,
                rng,
                plan,
                n,
                lead_id,
                f"{family} {trade}",
                assignee,
                stage,
                clock,
                created_i,
            )
    return out


def _interaction(out, table, rng, org, lead_id, user, clock, after, kind, subjects, outcomes):
    interaction_id = uid(rng)
    at = clock.at(rng.randrange(after, clock.points))
    subject = rng.choice(subjects[kind])
    voice = kind in ("call", "ai_call")
    out["interaction"].append(
        table.line(
            interaction_id,
            org,
            at,
            at,
            lead_id,
            kind,
            "inbound" if kind == "website_visit" else "internal" if kind == "note" else "outbound",
            subject,
            f"{subject}: discussed website options, next step agreed.",
            at,
            str(rng.randrange(30, 1800)) if voice else None,
            rng.choice(outcomes) if voice else "",
            None if kind == "website_visit" else user,
        )
    )
    return interaction_id, at


def _ai_call(out, t, rng, plan, lead_id, clock, after, subjects):
    interaction_id, at = _interaction(
        out,
        t["interaction"],
        rng,
        plan.id,
        lead_id,
        None,
        clock,
        after,
        "ai_call",
        subjects,
        ("connected", "voicemail", "interested", "callback_requested"),
    )
    out["aicall"].append(
        t["aicall"].line(
            uid(rng),
            plan.id,
            at,
            at,
            rng.choice(plan.campaigns),
            lead_id,
            "http",
            uid(rng),
            "completed",
            at,
            at,
            str(rng.randrange(30, 600)),
            "Owner interested in a new site; asked for prices.",
            rng.choice(("positive", "neutral", "negative")),
            rng.choice(("interested", "callback", "not_interested", "voicemail")),
            at,
            interaction_id,
        )
    )


def _opportunity(out, t, rng, plan, n, lead_id, name, owner, stage, clock, after):
    stage_id, probability, won, lost = stage
    org = plan.id
    created_i = rng.randrange(after, clock.points)
    created = clock.at(created_i)
    closed = clock.at(rng.randrange(created_i, clock.points)) if (won or lost) else None
    status = "won" if won else "lost" if lost else "open"
    opportunity_id = uid(rng)
    value = rng.randrange(800, 25_000)
    out["opportunity"].append(
        t["opportunity"].line(
            opportunity_id,
            org,
            created,
            created,
            lead_id,
            plan.pipeline,
            stage_id,
            f"Website for {name}",
            f"{value}.00",
            probability,
            owner,
            clock.future_day(rng),
            status,
            "Chose a cheaper offer" if lost else "",
            closed,
        )
    )
    if rng.random() < 0.5 or won:
        proposal_id = uid(rng)
        accepted = won or rng.random() < 0.2
        lines = [
            (rng.randrange(1, 4), rng.randrange(200, 5_000)) for _ in range(rng.randrange(1, 4))
        ]
        subtotal = sum(q * p for q, p in lines)
        tax = round(subtotal * 0.2, 2)
        out["proposal"].append(
            t["proposal"].line(
                proposal_id,
                org,
                created,
                created,
                opportunity_id,
                f"P-{plan.index:04d}-{n:07d}",
                f"Website proposal for {name}",
                "accepted" if accepted else "sent",
                f"{subtotal:.2f}",
                "0.00",
                f"{tax:.2f}",
                f"{subtotal + tax:.2f}",
                created,
                created if accepted else None,
                owner,
            )
        )
        for position, (quantity, price) in enumerate(lines):
            amount = quantity * price
            line_tax = round(amount * 0.2, 2)
            out["lineitem"].append(
                t["lineitem"].line(
                    uid(rng),
                    org,
                    created,
                    created,
                    proposal_id,
                    str(position),
                    ("Website design", "Hosting (year)", "SEO starter", "Photography")[
                        position % 4
                    ],
                    f"{quantity}.00",
                    f"{price}.00",
                    "20.00",
                    f"{amount:.2f}",
                    f"{line_tax:.2f}",
                    f"{amount + line_tax:.2f}",
                )
            )
        if accepted:
            out["contract"].append(
                t["contract"].line(
                    uid(rng),
                    org,
                    created,
                    created,
                    opportunity_id,
                    proposal_id,
                    f"C-{plan.index:04d}-{n:07d}",
                    f"Website contract for {name}",
                    "signed" if won else "sent",
                    f"{subtotal + tax:.2f}",
                    created if won else None,
                )
            )
    done = rng.random() < 0.4
    out["task"].append(
        t["task"].line(
            uid(rng),
            org,
            created,
            created,
            f"Follow up on {name}",
            rng.choice(("call", "email", "follow_up")),
            rng.choice(("low", "normal", "high")),
            "done" if done else "open",
            clock.at(rng.randrange(created_i, clock.points))
            if done
            else clock.future_day(rng) + " 09:00:00+00",
            owner,
            lead_id,
            opportunity_id,
            created if done else None,
            owner,
        )
    )


# ---------------------------------------------------------------------------------------
# Workers

_loader: Loader | None = None
_context: Context | None = None


def _init_worker(url: str, ctx: Context) -> None:
    global _loader, _context
    _loader = Loader(url)
    _context = ctx


def _setup_task(plan: OrganizationPlan) -> OrganizationPlan:
    rows = setup_rows(plan, _context, random.Random(f"setup-{plan.id}"))
    _loader.in_organization(plan.id, rows)
    return plan


def _chunk_task(args: tuple[OrganizationPlan, int, int, int]) -> int:
    plan, start, count, seed = args
    _loader.in_organization(plan.id, chunk_rows(plan, start, count, _context, seed))
    return count


# ---------------------------------------------------------------------------------------
# Indexes


def droppable_indexes(conn, table_names: list[str]) -> list[tuple[str, str, int]]:
    """(name, definition, table size) of the non-unique, non-constraint indexes."""
    return conn.execute(
        """
        SELECT ic.relname, pg_get_indexdef(i.indexrelid), pg_relation_size(i.indrelid)
          FROM pg_index i
          JOIN pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_class tc ON tc.oid = i.indrelid
         WHERE tc.relname = ANY(%s) AND NOT i.indisunique AND NOT i.indisprimary
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
         ORDER BY ic.relname
        """,
        [table_names],
    ).fetchall()


def index_definitions(conn, table_names: list[str]) -> dict[str, str]:
    """Every index of the tables (unique ones included): name -> definition."""
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " AND tablename = ANY(%s)",
        [table_names],
    ).fetchall()
    return dict(rows)


def _build(url: str, definitions: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SESSION)
        for definition in definitions:
            conn.execute(definition)


def rebuild_indexes(url: str, indexes: list[tuple[str, str, int]], workers: int) -> None:
    """Recreate the saved definitions, biggest tables first, over `workers` connections."""
    ordered = sorted(indexes, key=lambda row: -row[2])
    shares = [[d for _, d, _ in ordered[i::workers]] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        for result in [pool.submit(_build, url, share) for share in shares]:
            result.result()


def vacuum(url: str, table_names: list[str], workers: int, *, analyze: bool = True) -> None:
    """VACUUM the tables (and ANALYZE them, unless told not to), `workers` at a time."""
    statement = "VACUUM (ANALYZE) {}" if analyze else "VACUUM {}"

    def run(names):
        with psycopg.connect(url, autocommit=True) as conn:
            for name in names:
                conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    with ThreadPoolExecutor(workers) as pool:
        for result in [pool.submit(run, table_names[i::workers]) for i in range(workers)]:
            result.result()


# ---------------------------------------------------------------------------------------


def _password_hash() -> str:
    from django.contrib.auth.hashers import make_password

    return make_password(BENCH_PASSWORD)


def chunks(plans: list[OrganizationPlan], seed: int):
    for plan in plans:
        for start in range(0, plan.leads, CHUNK_LEADS):
            yield (
                plan,
                start,
                min(CHUNK_LEADS, plan.leads - start),
                seed * 1_000_003 + plan.index * 1_009 + start,
            )


def bulk_table_names() -> list[str]:
    """The database names of the tables filled per chunk (BULK_TABLES)."""
    return [tables()[name].name for name in BULK_TABLES]


def load(
    url: str,
    *,
    leads: int,
    organizations: int,
    workers: int = 2,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
    now: dt.datetime | None = None,
) -> list[OrganizationPlan]:
    """Load the tenants into the (migrated, empty) database at `url`, as the owner role."""
    ctx = Context(now or dt.datetime.now(dt.UTC), _password_hash())
    plans = plan_organizations(leads, organizations, seed)
    bulk_names = bulk_table_names()
    loader = Loader(url)
    with loader.conn.transaction():
        organizations_rows, users = people_rows(plans, ctx)
        loader.copy_direct("organization", organizations_rows)
        loader.copy_direct("user", users)
    indexes = droppable_indexes(loader.conn, bulk_names)
    with loader.conn.transaction():
        for name, _, _ in indexes:
            loader.conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    try:
        if workers > 1:
            mp = multiprocessing.get_context("fork")
            with mp.Pool(workers, _init_worker, (url, ctx)) as pool:
                plans = list(pool.imap(_setup_task, plans))
                for count in pool.imap_unordered(_chunk_task, chunks(plans, seed)):
                    if progress:
                        progress(count)
        else:
            _init_worker(url, ctx)
            plans = [_setup_task(plan) for plan in plans]
            for task in chunks(plans, seed):
                count = _chunk_task(task)
                if progress:
                    progress(count)
            _loader.close()
    finally:
        loader.close()
        rebuild_indexes(url, indexes, workers)
    return plans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=databases.SCALES, default="1m")
    parser.add_argument("--database", help="default: smartweb_bench_<scale>")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    leads = databases.SCALES[args.scale]
    organizations = max(2, leads // LEADS_PER_ORGANIZATION)
    dbname = args.database or databases.database_name(args.scale)
    url = databases.owner_url(dbname)

    started = time.monotonic()
    print(f"Creating and migrating {dbname} …", flush=True)
    databases.recreate(dbname)
    os.environ.update(databases.django_env(url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartweb.settings")
    import django
    from tqdm import tqdm

    django.setup()
    with tqdm(total=leads, unit="lead", unit_scale=True, desc=f"{dbname}") as bar:
        plans = load(
            url,
            leads=leads,
            organizations=organizations,
            workers=args.workers,
            seed=args.seed,
            progress=bar.update,
        )
    print("Indexes rebuilt; VACUUM ANALYZE …", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tableowner = current_user"
            ).fetchall()
        ]
    vacuum(url, names, args.workers)
    seconds = round(time.monotonic() - started)
    summary = {
        "scale": args.scale,
        "organizations": organizations,
        "leads": leads,
        "largest_organization_leads": plans[0].leads,
        "seconds": seconds,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(dbname), sql.Literal(json.dumps(summary))
            )
        )
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
