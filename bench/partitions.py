"""Monthly partitions (issue 18 part 1): does a lead's timeline or a record's history get
slower when `leads_interaction` and `leads_historicallead` are partitioned by month, with
or without a time bound taken from the record, or partitioned by the record's creation?

    .venv/bin/python -m bench.partitions --database smartweb_bench_100k \
        --superuser-url postgresql://postgres@127.0.0.1:5432/postgres

Works on a generated scale database (bench/generate.py), beside its tables: it fills the
lead history when the generator left it empty (a creation row at the lead's creation and
0–6 changes between then and now), then copies both tables into partitioned twins, each
with one partition per month holding rows, the month ahead and DEFAULT, the source's
indexes and the partition column added to the primary key: `bench_*_monthly` by the
row's time (`created_at`, `history_date`), `bench_*_record` by the lead's creation (a
`lead_created_at` column added to the interactions; a history row's own `created_at`).
`--reuse` keeps the twins of the previous run. Read as a superuser, without policies on
either side, so that the layouts alone are compared; each variant on a connection of its
own with the application's session settings, in turn (bench/measure.interleaved), the
same leads in the same order. Prints JSON: p50/p95 per variant and query, and the
planning and execution of single leads by age."""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
from dataclasses import dataclass

import psycopg

from bench import databases, measure
from smartweb.db_bootstrap import with_database


@dataclass(frozen=True)
class Twin:
    column: str  # the partition column, by month
    key: str  # the primary key's columns before the partition column
    added: str = ""  # a column the source lacks: "name type AS expression of s."


# Two layouts of each table: by the row's own time (what retention by month drops), and
# by its record's creation (every row of one record in one partition).
TWINS = {
    ("leads_interaction", "monthly"): Twin("created_at", "organization_id, id"),
    ("leads_historicallead", "monthly"): Twin("history_date", "organization_id, history_id"),
    ("leads_interaction", "record"): Twin(
        "lead_created_at",
        "organization_id, id",
        "lead_created_at timestamptz AS (SELECT l.created_at FROM leads_lead l"
        " WHERE l.organization_id = s.organization_id AND l.id = s.lead_id)",
    ),
    # A history row copies its record's fields, `created_at` among them.
    ("leads_historicallead", "record"): Twin("created_at", "organization_id, history_id"),
}


def twin_name(source: str, layout: str) -> str:
    return f"bench_{source.removeprefix('leads_')}_{layout}"


HISTORY_FILL = """
INSERT INTO leads_historicallead (id, organization_id, created_at, updated_at, company_id,
    contact_name, contact_title, contact_email, contact_phone, status, source, lead_score,
    score_breakdown, status_changed_at, consent_to_contact, do_not_contact, notes,
    contact_phone_normalized, contact_email_normalized, history_id, history_date,
    history_type, history_request_id, history_user_agent)
SELECT l.id, l.organization_id, l.created_at, at, l.company_id, l.contact_name,
    l.contact_title, l.contact_email, l.contact_phone, l.status, l.source, l.lead_score,
    l.score_breakdown, l.status_changed_at, l.consent_to_contact, l.do_not_contact, '',
    l.contact_phone_normalized, l.contact_email_normalized, gen_random_uuid(), at,
    CASE WHEN k = 0 THEN '+' ELSE '~' END, '', ''
FROM leads_lead l, LATERAL generate_series(0, (hashtext(l.id::text) & 7) % 7) AS k,
    LATERAL (SELECT CASE WHEN k = 0 THEN l.created_at
        ELSE l.created_at + random() * (now() - l.created_at) END AS at) AS moment
"""

# As Django sends them (leads/timeline.py), values bound on the client: literals.
TIMELINE = (
    "SELECT i.id, i.occurred_at, i.type, i.direction, i.subject, i.content, i.outcome,"
    " u.id, u.email FROM {table} i LEFT OUTER JOIN accounts_user u ON i.created_by_id = u.id"
    " WHERE i.organization_id = '{org}' AND i.lead_id = '{lead}' AND i.deleted_at IS NULL"
    "{bound} ORDER BY i.occurred_at DESC LIMIT 200"
)
HISTORY = (
    "SELECT h.history_id, h.history_date, h.history_type, h.status, h.lead_score, u.id,"
    " u.email FROM {table} h LEFT OUTER JOIN accounts_user u ON h.history_user_id = u.id"
    " WHERE h.organization_id = '{org}' AND h.id = '{lead}'{bound}"
    " ORDER BY h.history_date DESC, h.history_id DESC LIMIT 201"
)
# (template, table, alias, time column)
QUERIES = {
    "timeline": (TIMELINE, "leads_interaction", "i", "created_at"),
    "history": (HISTORY, "leads_historicallead", "h", "history_date"),
}
NO_CE = {"constraint_exclusion": "off"}
# (layout read: None for main's plain table, time bound added, session settings). Bounds:
# "since", the record's creation (no row of a record predates it); "held", the months the
# record has rows in (as a per-record list of months kept beside it would give), the best
# case of a bound on the row's time; "record", the record's creation, on the layout
# partitioned by it.
VARIANTS = {
    "main": (None, None, {}),
    "main_no_ce": (None, None, NO_CE),
    "monthly": ("monthly", None, {}),
    "monthly_no_ce": ("monthly", None, NO_CE),
    "monthly_since_no_ce": ("monthly", "since", NO_CE),
    "monthly_held_no_ce": ("monthly", "held", NO_CE),
    "by_record_no_ce": ("record", "record", NO_CE),
}


def _months(owner, source: str, column: str) -> list[str]:
    rows = owner.execute(
        f"SELECT to_char(m, 'YYYY-MM-DD') FROM generate_series(date_trunc('month',"
        f" (SELECT min({column}) FROM {source}) AT TIME ZONE 'UTC'),"
        " date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month',"
        " interval '1 month') AS m"
    ).fetchall()
    return [row[0] for row in rows]


def build_twin(owner, source: str, layout: str) -> None:
    twin, name = TWINS[source, layout], twin_name(source, layout)
    owner.execute(f"DROP TABLE IF EXISTS {name}")
    added_column, _, added_value = twin.added.partition(" AS ")
    owner.execute(
        f"CREATE TABLE {name} (LIKE {source} INCLUDING DEFAULTS INCLUDING GENERATED"
        f" INCLUDING CONSTRAINTS{', ' + added_column if added_column else ''})"
        f" PARTITION BY RANGE ({twin.column})"
    )
    # The added column holds a lead's creation: its months are the leads'.
    months = _months(owner, "leads_lead", "created_at") if added_column else None
    months = months or _months(owner, source, twin.column)
    for number, start in enumerate(months):
        owner.execute(
            f"CREATE TABLE {name}_{number:02} PARTITION OF {name} FOR VALUES FROM"
            f" ('{start} 00:00+00') TO ('{_next(start)} 00:00+00')"
        )
    owner.execute(f"CREATE TABLE {name}_default PARTITION OF {name} DEFAULT")
    columns = owner.execute(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
        " AND attgenerated = ''",
        [source],
    ).fetchone()[0]
    into, values = columns, columns
    if added_column:
        into, values = f"{columns}, {added_column.split()[0]}", f"{columns}, {added_value}"
    owner.execute(f"INSERT INTO {name} ({into}) SELECT {values} FROM {source} s")
    owner.execute(f"ALTER TABLE {name} ADD PRIMARY KEY ({twin.key}, {twin.column})")
    definitions = owner.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass"
        " AND NOT i.indisprimary",
        [source],
    ).fetchall()
    for (definition,) in definitions:
        owner.execute(re.sub(r"INDEX \S+ ON (ONLY )?public\.\S+", f"INDEX ON {name}", definition))
    owner.commit()


def _next(start: str) -> str:
    year, month = int(start[:4]), int(start[5:7])
    return f"{year + month // 12:04}-{month % 12 + 1:02}-01"


def build(url: str) -> None:
    started = time.perf_counter()
    with psycopg.connect(url) as owner:
        if not owner.execute("SELECT EXISTS (SELECT 1 FROM leads_historicallead)").fetchone()[0]:
            owner.execute(HISTORY_FILL)
            owner.commit()
        for source, layout in TWINS:
            build_twin(owner, source, layout)
        owner.autocommit = True
        for source, layout in TWINS:
            owner.execute(f"VACUUM (ANALYZE) {source}")
            owner.execute(f"VACUUM (ANALYZE) {twin_name(source, layout)}")
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


MONTHS_HELD = """
SELECT l.id::text, l.created_at::text,
    ARRAY(SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC')::date::text
          FROM leads_interaction WHERE organization_id = l.organization_id AND lead_id = l.id),
    ARRAY(SELECT DISTINCT date_trunc('month', history_date AT TIME ZONE 'UTC')::date::text
          FROM leads_historicallead WHERE organization_id = l.organization_id AND id = l.id)
FROM leads_lead l WHERE l.organization_id = %s
"""


def _leads(conn) -> tuple[str, list[dict]]:
    """The largest organization and its leads: id, creation, months holding rows."""
    organization = conn.execute(
        "SELECT organization_id FROM leads_lead GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    leads = [
        {"id": lead, "since": since, "leads_interaction": held, "leads_historicallead": kept}
        for lead, since, held, kept in conn.execute(MONTHS_HELD, [organization]).fetchall()
    ]
    return str(organization), leads


def _bound(kind: str | None, alias: str, column: str, lead: dict, table: str) -> str:
    if kind == "record":
        return f" AND {alias}.{TWINS[table, 'record'].column} = '{lead['since']}'"
    if kind == "since":
        return f" AND {alias}.{column} >= '{lead['since']}'"
    if kind == "held":
        ranges = [
            f"({alias}.{column} >= '{month} 00:00+00' AND {alias}.{column} <"
            f" '{_next(month)} 00:00+00')"
            for month in lead[table]
        ]
        return f" AND ({' OR '.join(ranges) or 'false'})"
    return ""


def statement(query: str, variant: str, org: str, lead: dict) -> str:
    template, table, alias, column = QUERIES[query]
    layout, bound, _ = VARIANTS[variant]
    return template.format(
        table=twin_name(table, layout) if layout else table,
        org=org,
        lead=lead["id"],
        bound=_bound(bound, alias, column, lead, table),
    )


def reads(url: str, iterations: int, seconds: float, variants: list[str]) -> dict:
    connections = {}
    for variant in variants:
        settings = VARIANTS[variant][2]
        connections[variant] = measure.connect(url)
        for name, value in settings.items():
            connections[variant].execute(f"SET {name} = {value}")
    org, leads = _leads(next(iter(connections.values())))
    result: dict = {"organization_leads": len(leads)}
    for query in QUERIES:

        def run(variant: str, rng: random.Random, query=query) -> float:
            sql = statement(query, variant, org, rng.choice(leads))
            started = time.perf_counter()
            connections[variant].execute(sql).fetchall()
            return (time.perf_counter() - started) * 1000

        # One generator per variant, seeded alike: every variant reads the same leads.
        rngs = {v: random.Random(26) for v in variants}
        timings = measure.interleaved(
            {v: (lambda v=v, rng=rngs[v]: run(v, rng)) for v in variants},
            iterations=iterations,
            seconds=seconds,
        )
        result[query] = {v: t.summary() for v, t in timings.items()}
        result[f"{query}_by_age"] = by_age(connections, query, org, leads)
    for conn in connections.values():
        conn.close()
    return result


def by_age(connections, query: str, org: str, leads: list[dict]) -> dict:
    """Planning and execution (median of EXPLAIN ANALYZE runs) for a young, a middle-aged
    and an old lead: the time bound prunes by the record's age."""
    ordered = sorted(leads, key=lambda lead: lead["since"])
    picks = {"old": ordered[len(ordered) // 20], "mid": ordered[len(ordered) // 2]}
    picks["young"] = ordered[-len(ordered) // 50]
    found = {}
    for age, lead in picks.items():
        for variant, conn in connections.items():
            sql = "EXPLAIN (ANALYZE, FORMAT JSON) " + statement(query, variant, org, lead)
            plans = [conn.execute(sql).fetchone()[0][0] for _ in range(15)]
            found[f"{age} {lead['since'][:10]} {variant}"] = {
                "planning": round(statistics.median(p["Planning Time"] for p in plans), 3),
                "execution": round(statistics.median(p["Execution Time"] for p in plans), 3),
            }
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=databases.database_name("100k"))
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="which of them, comma-separated"
    )
    parser.add_argument(
        "--superuser-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a superuser of the server (reads without policies on either side)",
    )
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    if unknown := set(variants) - set(VARIANTS):
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    url = with_database(args.superuser_url, args.database)
    if not args.reuse:
        build(url)
    result = reads(url, args.iterations, args.seconds, variants)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
