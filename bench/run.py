"""Benchmark the key queries at two scales, under RLS and without, in SQL and through the API.

    make bench                                    # 100k and 1m, then the load test
    make bench BENCH_ARGS="--scales 100k --load-seconds 10"

For each case the runner makes the API request once as a real user with a real token
(Django test client) and captures the SQL the application runs for it. Then it times:
- those statements as the runtime role under RLS, each run in its own transaction with
  the organization context set like the app does (`set_config(…, true)`);
- the same statements as a role not subject to the policies (measure.without_rls; the
  statements keep the app's explicit organization filter): the RLS overhead is the ratio
  of the two medians;
- the API request end to end (routing, authentication, context, permission service,
  serializers, JSON): the API/SQL ratio.
The two SQL measurements run in turn, one run of each after the other, so that the shared
host's drift weighs on them alike; the API after them.
Then `bench.loadtest` runs gunicorn on 127.0.0.1 and drives it with mixed reads and writes
for several organizations. Results go to bench/results.json and bench/README.md.

The databases come from `python -m bench.generate --scale …` (run first when missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from bench import databases, generate, measure, migration_state
from bench import profile as request_profile

RESULTS = Path(__file__).with_name("results.json")
README = Path(__file__).with_name("README.md")
START, END = "<!-- results:start -->", "<!-- results:end -->"
# Statements that set up the request (authentication, context, permissions), not the data.
PLUMBING = (
    "set_config",
    '"accounts_apitoken"',
    '"accounts_membership"',
    '"accounts_rolepermission"',
    '"accounts_userobjectgrant"',
    '"accounts_organization"',
    '"django_content_type"',
)


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    actor: str  # "admin" or "rep" of the largest organization
    path: Callable[[dict], str]
    tables: tuple[str, ...]
    sql_target_ms: float
    api_target_ms: float | None = None
    # Only the captured statements containing `match` and not `exclude` (one request
    # measured as several cases).
    match: str = ""
    exclude: str = ""
    # Its search runs in SECURITY DEFINER functions, which bypass RLS: the RLS overhead
    # measured covers only the outer look-up of the rows they found.
    definer: bool = False


CASES = (
    Case(
        "rep_leads",
        "Sales rep's leads: status filter, by score, first page",
        "rep",
        lambda p: "/api/v1/leads/?status=new",
        # The count reads the lead rollup (crm.selectors.lead_count_rows).
        ("leads_lead", "leads_company", "leads_leadtag", "leads_tag", "crm_leadrollup"),
        2,
        25,
    ),
    Case(
        "org_leads",
        "Organization's leads: status filter, by score, first page",
        "admin",
        lambda p: "/api/v1/leads/?status=new",
        # The count reads the lead rollup (crm.selectors.lead_count_rows).
        ("leads_lead", "leads_company", "leads_leadtag", "leads_tag", "crm_leadrollup"),
        2,
        25,
    ),
    Case(
        "lead_detail",
        "A lead's detail (with its score breakdown, company, assignee, tags)",
        "admin",
        lambda p: f"/api/v1/leads/{p['lead']}/",
        ("leads_lead", "leads_company", "leads_leadtag", "leads_tag"),
        2,
        25,
    ),
    Case(
        "lead_history",
        "A lead's interaction history (timeline)",
        "admin",
        lambda p: f"/api/v1/leads/{p['lead']}/timeline/",
        ("leads_interaction",),
        2,
        25,
    ),
    Case(
        "org_interactions",
        "Organization's interactions, newest first (cursor page)",
        "admin",
        lambda p: "/api/v1/interactions/",
        ("leads_interaction",),
        2,
        25,
    ),
    Case(
        "org_tasks",
        "Organization's open tasks, soonest due first",
        "admin",
        lambda p: "/api/v1/tasks/?status=open&ordering=due_at",
        ("crm_task",),
        2,
        25,
    ),
    Case(
        "pipeline_board",
        "Pipeline board: each stage's top 50 deals (with lead names and owners)",
        "admin",
        lambda p: f"/api/v1/pipelines/{p['pipeline']}/board/",
        ("crm_opportunity", "crm_pipelinestage"),
        2,
        exclude="GROUP BY",
    ),
    Case(
        "rep_pipeline_board",
        "Pipeline board of a sales rep: each stage's top 50 of their own deals",
        "rep",
        lambda p: f"/api/v1/pipelines/{p['pipeline']}/board/",
        ("crm_opportunity", "crm_pipelinestage"),
        2,
        exclude="GROUP BY",
    ),
    Case(
        "board_totals",
        "Pipeline board: count and sums per stage (aggregate)",
        "admin",
        lambda p: f"/api/v1/pipelines/{p['pipeline']}/board/",
        ("crm_opportunity", "crm_opportunityrollup"),
        25,
        match="GROUP BY",
    ),
    Case(
        "rep_ai_calls",
        "Sales rep's AI calls, newest first (owned through their leads)",
        "rep",
        lambda p: "/api/v1/ai-calls/",
        ("crm_aicall",),
        2,
        25,
    ),
    Case(
        "rep_proposals",
        "Sales rep's proposals with their line items (owned through their deals)",
        "rep",
        lambda p: "/api/v1/proposals/",
        ("crm_proposal", "crm_proposallineitem"),
        2,
        25,
    ),
    Case(
        "top_opportunities",
        "Top open opportunities by weighted value",
        "admin",
        lambda p: "/api/v1/opportunities/?status=open&ordering=-weighted_value",
        ("crm_opportunity",),
        2,
        25,
    ),
    Case(
        "search_companies",
        "Full-text search of companies",
        "admin",
        lambda p: f"/api/v1/companies/?search={p['term']}",
        ("leads_company",),
        5,
        25,
        definer=True,
    ),
    Case(
        "search_leads",
        "Full-text search of leads (and their companies)",
        "admin",
        lambda p: f"/api/v1/leads/?search={p['term']}",
        ("leads_lead",),
        5,
        25,
        definer=True,
    ),
    Case(
        "fuzzy_company",
        "Fuzzy company-name search (substring, trigram)",
        "admin",
        lambda p: f"/api/v1/companies/?search={p['fragment']}",
        ("leads_company",),
        5,
        25,
        definer=True,
    ),
    Case(
        "dashboard",
        "Dashboard aggregates (forecast by month)",
        "admin",
        lambda p: "/api/v1/opportunities/forecast/",
        ("crm_opportunity", "crm_opportunityrollup"),
        25,
    ),
)


def page_bench(argv, *, description: str, measure, render) -> int:
    """The command line of a bench that times pages of a generated database (bench.
    admin_pages, bench.dashboard): `measure(scale, iterations=, seconds=)` -> results,
    printed as JSON and as the `render`ed table."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", default="100k", help="10k, 100k or 1m (generated first)")
    parser.add_argument("--iterations", type=int, default=200, help="requests of each")
    parser.add_argument("--seconds", type=float, default=30, help="at most, for all")
    args = parser.parse_args(argv)
    if not databases.generated(databases.database_name(args.scale)):
        raise SystemExit(f"Generate it first: python -m bench.generate --scale {args.scale}")
    _django(databases.runtime_url(databases.database_name(args.scale)))
    _refuse_other_state(args.scale)
    started = time.perf_counter()
    results = measure(args.scale, iterations=args.iterations, seconds=args.seconds)
    results["machine"] = machine()
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, indent=2))
    print(render(results))
    return 0


def _django(url: str) -> None:
    os.environ.update(
        databases.django_env(url),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartweb.settings")
    import django

    django.setup()
    # As the web process does at start (smartweb.wsgi): the in-process requests measured
    # meet the garbage collector as a server's do.
    from smartweb.memory import settle

    settle()


def _refuse_other_state(scale: str) -> None:
    dbname = databases.database_name(scale)
    migration_state.refuse_other_state(databases.owner_url(dbname), dbname, scale)


def _switch_database(url: str) -> None:
    from django.db import connection

    connection.close()
    # The path, not the URL's tail: a Unix-socket URL (the embedded server's) ends in
    # `?host=/…/pgdata`.
    connection.settings_dict["NAME"] = urlsplit(url).path.lstrip("/")


def discover(runtime_url: str) -> dict:
    """The largest organization, its admin and busiest rep, a busy lead, its pipeline and
    search terms taken from its own companies, read as the runtime role in its context."""
    with measure.connect(runtime_url) as conn, conn.transaction():
        org_id, slug = conn.execute(
            "SELECT id, slug FROM accounts_organization WHERE slug = 'bench-0000'"
        ).fetchone()
        conn.execute(measure.CONTEXT, [str(org_id), ""])
        admin = conn.execute(
            "SELECT u.id FROM accounts_membership m JOIN accounts_user u ON u.id = m.user_id"
            " JOIN accounts_role r ON r.id = m.role_id WHERE r.slug = 'org_admin'"
        ).fetchone()[0]
        rep, rep_leads = conn.execute(
            "SELECT assigned_to_id, count(*) FROM leads_lead WHERE assigned_to_id IS NOT NULL"
            " GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        lead, interactions = conn.execute(
            "SELECT lead_id, count(*) FROM leads_interaction GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        pipeline = conn.execute("SELECT id FROM crm_pipeline WHERE is_default").fetchone()[0]
        # A family name as people search for a customer: the most common one of the org.
        (term,) = conn.execute(
            "SELECT split_part(name, ' ', 1) AS w FROM leads_company GROUP BY 1"
            " ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        leads = conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]
    return {
        "organization": org_id,
        "slug": slug,
        "organization_leads": leads,
        "admin": str(admin),
        "rep": str(rep),
        "rep_leads": rep_leads,
        "lead": str(lead),
        "lead_interactions": interactions,
        "pipeline": str(pipeline),
        "term": term,
        "fragment": term[1:-1].lower(),
    }


def api_clients(params: dict, actors: tuple[str, ...] = ("admin", "rep")) -> dict:
    """A test client per actor (a user id in `params`), each with a real API token of the
    organization."""
    from rest_framework.test import APIClient

    from accounts import services
    from accounts.models import User
    from smartweb.tenancy.context import tenant_context

    clients = {}
    for actor in actors:
        user = User.objects.get(pk=params[actor])
        with tenant_context(params["organization"], user=user):
            _, raw = services.token_create(
                user=user, organization_id=params["organization"], name="bench", expires_in_days=1
            )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        clients[actor] = client
    return clients


def captured_sql(
    client, path: str, tables: tuple[str, ...], match: str = "", exclude: str = ""
) -> list[str]:
    """The data statements the application runs for `path` (plumbing left out)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.content[:300]!r}")
    statements = []
    for query in captured.captured_queries:
        sql = query["sql"]
        data = sql.lstrip("(").startswith("SELECT") and any(f'"{t}"' in sql for t in tables)
        wanted = match in sql and not (exclude and exclude in sql)
        if data and wanted and not any(marker in sql for marker in PLUMBING):
            statements.append(sql)
    return statements


def api_run(client, path: str) -> Callable[[], float]:
    """One request through Django (the test client, in process); its duration in ms."""
    import time

    def run() -> float:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code}")
        return elapsed

    return run


# The floor the targets are set against: the largest organization's first page of lead
# ids by score, raw SQL through its index, under RLS (about 0.2 ms on the reference host).
REFERENCE = (
    "SELECT id, lead_score FROM leads_lead WHERE organization_id = '{organization}'::uuid"
    " AND deleted_at IS NULL ORDER BY lead_score DESC LIMIT 50"
)


def _pair(timing: measure.Timing) -> str:
    return f"{timing.percentile(50):.2f}/{timing.percentile(95):.2f}"


def vacuum_bulk_tables(owner: str) -> None:
    """The load test of an earlier run updated the largest organizations' leads: 3,200 dead
    row versions at 1M, all at the top of the lists measured, made the lead pages ~50%
    slower (planning reads the indexes' ends through them, scans check each on the heap).
    VACUUM restores the state of the data as generated; its statistics are kept."""
    generate.vacuum(owner, generate.bulk_table_names(), workers=2, analyze=False)


def run_scale(scale: str, args) -> dict:
    dbname = databases.database_name(scale)
    runtime, owner = databases.runtime_url(dbname), databases.owner_url(dbname)
    vacuum_bulk_tables(owner)
    _switch_database(runtime)
    params = discover(runtime)
    clients = api_clients(params)
    measured = {"iterations": args.iterations, "seconds": args.seconds}
    results = {"params": params, "cases": {}}
    reference_sql = [REFERENCE.format(organization=params["organization"])]
    with measure.under_rls(runtime, params["organization"], params["admin"], reference_sql) as raw:
        reference = measure.interleaved({"reference": raw}, **measured)["reference"]
    results["reference"] = reference.summary()
    print(f"{scale:>5} reference: raw first page p50 {reference.percentile(50):.2f} ms", flush=True)
    for case in CASES:
        if args.cases and case.name not in args.cases.split(","):
            continue
        path = case.path(params)
        client = clients[case.actor]
        statements = captured_sql(client, path, case.tables, case.match, case.exclude)
        user = str(params[case.actor])
        if args.explain:
            if case.name in args.explain.split(","):
                plans = measure.explain(runtime, str(params["organization"]), user, statements)
                for statement, plan in zip(statements, plans, strict=True):
                    print(f"-- {scale} {case.name}\n{statement}\n{plan}\n", flush=True)
            continue
        # Under RLS and without it in turn, run by run: a drift of the shared host's speed
        # weighs on both alike instead of skewing their ratio (measure.interleaved). The
        # API after them: a request between two statement runs would leave them the CPU's
        # caches cold, and the SQL is timed as the reference is, warm.
        organization = str(params["organization"])
        with (
            measure.under_rls(runtime, organization, user, statements) as under,
            measure.without_rls(owner, organization, user, statements) as plain_run,
        ):
            timings = measure.interleaved(
                {"rls": under, "no_rls": plain_run},
                iterations=args.iterations,
                seconds=args.seconds * 2,
            )
        rls, plain = timings["rls"], timings["no_rls"]
        api = measure.interleaved(
            {"api": api_run(client, path)}, iterations=args.iterations, seconds=args.seconds
        )["api"]
        each, rows, plain_rows = under.each(len(rls.samples)), under.rows, plain_run.rows
        split = request_profile.phases(client, path, runs=args.profile_runs)
        results["cases"][case.name] = {
            "path": path,
            "statements": statements,
            "rows": rows,
            "rows_without_rls": plain_rows,
            "rls": rls.summary(),
            "rls_each_statement": [timing.summary() for timing in each],
            "no_rls": plain.summary(),
            "api": api.summary(),
            "profile": split,
        }
        print(
            f"{scale:>5} {case.name:<18} rows={rows:<5} p50/p95 ms: rls {_pair(rls)}"
            f"  no-rls {_pair(plain)} ({rls.percentile(50) / plain.percentile(50):.2f}×)"
            f"  api {_pair(api)}  each statement {', '.join(_pair(t) for t in each)}",
            f"\n{'':>5} {'':<18} profile, mean ms: {request_profile.render(split)}",
            flush=True,
        )
    if args.load_seconds and not args.explain:
        from bench import loadtest

        results["load"] = loadtest.run(
            runtime, seconds=args.load_seconds, workers=args.load_workers, clients=args.load_clients
        )
        print(f"{scale:>5} load {json.dumps(results['load']['total'])}", flush=True)
    if args.import_rows and not args.explain:
        results["writes"] = imports(scale, args.import_rows)
    return results


def imports(scale: str, rows: int) -> dict:
    """The CSV import of `rows` new leads, once, and 100 lead creates and updates, on a
    copy of the scale's database (bench.import_write, in its own process: it sets Django
    up on the copy). PostgreSQL copies a database no one is connected to: this process's
    connections to it are closed first."""
    from django.db import connections

    connections.close_all()
    command = [sys.executable, "-m", "bench.import_write", "--scale", scale]
    command += ["--rows", str(rows), "--runs", "1", "--creates", "100", "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:  # its own error, not a bare exit status minutes into the run
        raise RuntimeError(f"{' '.join(command[1:])} failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    print("\n".join(f"{scale:>5} {line}" for line in lines[:-1]), flush=True)
    return json.loads(lines[-1])


def machine() -> dict:
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    with psycopg.connect(os.environ["DATABASE_OWNER_URL"]) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    load = os.getloadavg()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout),
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "postgresql": version,
        "shared_buffers": shared_buffers,
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number from `minimum` (a negative count of rows or
    seconds would run nothing, or fail far from its cause)."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        return value

    return whole_number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="100k,1m", help="comma-separated: 10k,100k,1m")
    parser.add_argument(
        "--iterations", type=_at_least(1), default=200, help="runs of each, at most"
    )
    parser.add_argument(
        "--seconds", type=float, default=8, help="per run kind (RLS, without, API), at most"
    )
    parser.add_argument(
        "--profile-runs", type=_at_least(1), default=20, help="requests of each case's time split"
    )
    parser.add_argument("--load-seconds", type=_at_least(0), default=30, help="0: no load test")
    parser.add_argument("--load-workers", type=_at_least(1), default=3, help="gunicorn workers")
    parser.add_argument("--load-clients", type=_at_least(1), default=6, help="concurrent clients")
    parser.add_argument(
        "--import-rows", type=_at_least(0), default=100_000, help="rows of the CSV import; 0: none"
    )
    parser.add_argument(
        "--explain",
        metavar="CASES",
        help="print the plans of these cases (comma-separated), no timing",
    )
    parser.add_argument("--cases", help="only these cases (comma-separated); implies --no-readme")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite bench/README.md")
    args = parser.parse_args(argv)
    scales = [s for s in args.scales.split(",") if s]
    for scale in scales:
        if not databases.generated(databases.database_name(scale)):
            print(f"No {databases.database_name(scale)} yet: generating it first.", flush=True)
            subprocess.run([sys.executable, "-m", "bench.generate", "--scale", scale], check=True)
    report = {"machine": machine(), "scales": {}}
    _django(databases.runtime_url(databases.database_name(scales[0])))
    for scale in scales:
        _refuse_other_state(scale)
    for scale in scales:
        report["scales"][scale] = run_scale(scale, args)
    if args.explain:
        return 0
    if not args.cases:
        RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if not (args.no_readme or args.cases):
        write_readme(report)
    return 0


def write_readme(report: dict) -> None:
    """The measured part of bench/README.md, rendered from `report`."""
    from bench.report import render

    text = README.read_text()
    head, tail = text.split(START)[0], text.split(END)[1]
    README.write_text(head + START + "\n" + render(report, CASES) + END + tail)


if __name__ == "__main__":
    raise SystemExit(main())
