"""The CSV import and a lead's create and update, timed on a copy of a generated database.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.import_write --scale 100k \
        [--rows 100000] [--runs 2] [--creates 300] [--profile 10000] [--keep] [--json]

The writes go to a copy of `smartweb_bench_<scale>` (`CREATE DATABASE … TEMPLATE`, as the
owner role; retried while another session is connected to the template), made unless it
exists and dropped at the end unless `--keep`. In its largest organization, as its admin:

- the import of `--rows` new leads from a generated CSV of the columns a trade directory
  export has (company, trade, phone, email, website, address, rating, contact, status,
  tags), through `leads.csv_io.import_leads` as the admin wizard and the command call it.
  Each run is rolled back once the deferred foreign keys are checked (`SET CONSTRAINTS
  ALL IMMEDIATE`, what COMMIT would do first), then the written tables are vacuumed: every
  run meets the same data, so runs of two schemas or two versions of the code can
  alternate on one copy. The commit's own WAL flush is left out.
- `--creates` leads created through `leads.services.lead_create` (company, lead and their
  history rows, the duplicate check as the API makes it), then each of them updated
  through `lead_update` (a field and its history row, the re-score); each one request's
  transaction, committed.

Prints each import's seconds, rows/s and phases (parse: reading, normalising and
validating; deduplicate; write: scoring, COPY and INSERT … SELECT with their history rows;
the deferred keys), then the creates' and updates' p50 / p95 / mean. `--profile N` imports
N rows once under cProfile instead: the phases and the functions of most own time.

Two versions of the code or schema are compared by running this from each in turn on one
kept copy (`--keep`), migrating the copy to each one's state before its run (bench/README.md).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import time
from contextlib import contextmanager

import psycopg
from psycopg import sql

from bench import databases, world

WRITTEN = (
    "leads_company",
    "leads_historicalcompany",
    "leads_lead",
    "leads_historicallead",
    "leads_leadtag",
    "leads_historicalleadtag",
    "leads_tag",
    "leads_historicaltag",
    "crm_leadrollup",
)
TRADES = ("plumber", "electrician", "roofer", "builder", "Painter", "LOCKSMITH", "hvac")
WEBSITE_STATUSES = ("none", "outdated", "modern", "")
STATUSES = ("new", "new", "new", "Contacted", "nurturing")
TAGS = ("", "imported", "imported; hot", "no-website", "imported;needs-photos")
HEADER = (
    "company_name,business_type,phone,email,website,address_line1,city,postal_code,"
    "website_status,google_rating,google_review_count,contact_name,contact_title,"
    "contact_email,contact_phone,source,status,tags,notes"
)


def csv_text(rows: int, run: str) -> str:
    """`rows` new businesses, every key (phone, email, website) unique to its row and to
    `run`, so that none is a duplicate of a stored lead: the generated data's phones have
    12 digits (bench.generate), these 13 and 14."""
    lines = [HEADER]
    for n in range(rows):
        key = f"{run}{n:06d}"
        lines.append(
            ",".join(
                (
                    f"Northern Trade {key} Ltd",
                    TRADES[n % len(TRADES)],
                    f"01612 {key[-7:]}",
                    f"Office@Trade{key}.example.co.uk",
                    f"www.trade{key}.example.co.uk",
                    f"{n % 200 + 1} Mill Lane",
                    "Manchester",
                    f"M{n % 40 + 1} {n % 9}AB",
                    WEBSITE_STATUSES[n % len(WEBSITE_STATUSES)],
                    f"{3 + n % 20 / 10:.1f}" if n % 3 else "",
                    str(n % 150) if n % 3 else "",
                    f"Sam Owner{key}",
                    "Owner",
                    f"sam@trade{key}.example.co.uk",
                    f"07700 9{key[-7:]}",
                    "directory",
                    STATUSES[n % len(STATUSES)],
                    f'"{TAGS[n % len(TAGS)]}"',
                    '"Found in the trade directory, asked for a callback"',
                )
            )
        )
    return "\n".join(lines) + "\n"


def copy_database(template: str, copy: str, attempts: int = 60) -> None:
    """`copy` as a copy of `template`, unless it exists; PostgreSQL refuses the copy while
    anyone is connected to the template, so it is tried again for a while."""
    with psycopg.connect(databases.admin_url(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [copy]).fetchone()
        if exists:
            return
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(copy), sql.Identifier(template)
        )
        for attempt in range(attempts):
            try:
                conn.execute(statement)
                return
            except psycopg.errors.ObjectInUse:
                if attempt == attempts - 1:
                    raise
                time.sleep(5)


def vacuum(dbname: str) -> None:
    with psycopg.connect(databases.owner_url(dbname), autocommit=True) as conn:
        for table in WRITTEN:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))


def largest_organization():
    """The largest organization of the generated data (bench.generate) and its admin's
    membership."""
    from accounts.models import Membership, Organization
    from smartweb.tenancy.context import tenant_context

    organization = Organization.objects.get(slug="bench-0000")
    with tenant_context(organization):
        admin = Membership.objects.select_related("user").get(role__slug="org_admin")
    return organization, admin


class _RolledBack(Exception):
    pass


@contextmanager
def rolled_back(organization, admin):
    """The organization's context, as its admin, in a transaction rolled back at the end."""
    from smartweb.tenancy.context import tenant_context

    try:
        with tenant_context(organization, user=admin.user, membership=admin):
            yield
            raise _RolledBack
    except _RolledBack:
        pass


PHASES = ("parse", "deduplicate", "write")


@contextmanager
def phase_clock(times: dict[str, float]):
    """Wall-clock time of the import's phases (leads.csv_io._Importer's methods): reading,
    normalising and validating the rows; the duplicate check; scoring and writing."""
    from leads.csv_io import _Importer

    originals = {name: getattr(_Importer, name) for name in PHASES}

    def timed(name, method):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - started

        return run

    for name, method in originals.items():
        setattr(_Importer, name, timed(name, method))
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(_Importer, name, method)


def phase_seconds(times: dict[str, float]) -> str:
    """An import's phases as printed and shown on the page: `parse 12.0, write 20.1, …`."""
    return ", ".join(f"{name} {times[name]:.1f}" for name in times if name != "total")


def timed_import(organization, admin, text: str) -> dict:
    """Seconds of the whole import and of its phases, the deferred keys' check included."""
    from django.db import connection

    from leads.csv_io import import_leads

    times: dict[str, float] = {}
    with rolled_back(organization, admin), phase_clock(times):
        started = time.perf_counter()
        report = import_leads(source=io.StringIO(text), acting_user=admin.user)
        checked = time.perf_counter()
        with connection.cursor() as cursor:  # what COMMIT does first
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        times["deferred keys"] = time.perf_counter() - checked
        times["total"] = time.perf_counter() - started
    assert report.committed and not report.errors and not report.duplicates, report.as_dict()
    return times


def creates_and_updates(organization, admin, creates: int, warmup: int = 20) -> dict:
    """Per lead create and update (ms): p50, p95, mean."""
    from leads import services
    from smartweb.tenancy.context import tenant_context

    run = str(time.time_ns())[-9:]
    created, updated, leads = [], [], []
    for n in range(warmup + creates):
        started = time.perf_counter()
        with tenant_context(organization, user=admin.user, membership=admin):
            lead = services.lead_create(
                acting_user=admin.user,
                data={
                    "contact_name": f"Pat Caller {run}{n}",
                    "contact_email": f"pat{n}@caller{run}.example.test",
                    "contact_phone": f"07800 {run[-3:]}{n:03d}",
                },
                company_data={
                    "name": f"Caller {run} {n} Roofing",
                    "business_type": "roofer",
                    "website": f"https://caller{run}-{n}.example.test",
                },
            )
        if n >= warmup:
            created.append((time.perf_counter() - started) * 1000)
            leads.append(lead)
    for n, lead in enumerate(leads):
        started = time.perf_counter()
        with tenant_context(organization, user=admin.user, membership=admin):
            services.lead_update(
                lead=lead, acting_user=admin.user, data={"contact_title": f"Director {n}"}
            )
        updated.append((time.perf_counter() - started) * 1000)
    return {"create": _summary(created), "update": _summary(updated)}


def _summary(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {
        "p50": statistics.median(samples),
        "p95": samples[int(len(samples) * 0.95)],
        "mean": statistics.fmean(samples),
    }


def profile(organization, admin, rows: int, top: int = 30) -> None:
    """One import of `rows` under cProfile: its phases, and the functions of most own
    time (SQL is the time spent in the driver's `execute` and COPY calls)."""
    from leads.csv_io import import_leads

    text = csv_text(rows, "9")
    profiler = cProfile.Profile()
    with rolled_back(organization, admin):
        profiler.enable()
        import_leads(source=io.StringIO(text), acting_user=admin.user)
        profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(entry[3] for entry in stats.stats.values())
    print(f"import of {rows:,} rows under cProfile: {total:.2f} s")
    for (_, _, name), (_, _, _, cumulative, _) in sorted(stats.stats.items()):
        if name in {*PHASES, "copy_insert"} and cumulative > 0.1:
            print(f"  {name:<28} {cumulative:7.2f} s cumulative")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="100k", help="of the generated database copied")
    parser.add_argument("--database", default="smartweb_bench_imp", help="the copy")
    parser.add_argument("--rows", type=int, default=100_000, help="leads a run imports")
    parser.add_argument("--runs", type=int, default=2, help="imports")
    parser.add_argument("--creates", type=int, default=300, help="leads created, then updated")
    parser.add_argument("--profile", type=int, metavar="ROWS", help="profile one import only")
    parser.add_argument("--keep", action="store_true", help="keep the copy")
    parser.add_argument(
        "--json", action="store_true", help="a last line of JSON: each run's times, the writes"
    )
    args = parser.parse_args(argv)
    template = databases.database_name(args.scale)
    if not databases.generated(template):
        raise SystemExit(f"Generate it first: python -m bench.generate --scale {args.scale}")
    copy_database(template, args.database)
    try:
        world.setup_django(args.database, fresh=False)
        organization, admin = largest_organization()
        if args.profile:
            profile(organization, admin, args.profile)
            return
        text = csv_text(args.rows, "1")
        measured = {"rows": args.rows, "imports": [], "writes": {}}
        for run in range(args.runs):
            vacuum(args.database)
            times = timed_import(organization, admin, text)
            measured["imports"].append(times)
            phases = phase_seconds(times)
            print(
                f"run {run + 1}: import of {args.rows:,} leads {times['total']:.1f} s"
                f" ({args.rows / times['total']:,.0f} rows/s; {phases})",
                flush=True,
            )
        if args.creates:
            writes = measured["writes"] = creates_and_updates(organization, admin, args.creates)
            for kind, ms in writes.items():
                print(
                    f"lead {kind}: p50 {ms['p50']:.1f} ms, p95 {ms['p95']:.1f} ms,"
                    f" mean {ms['mean']:.1f} ms ({args.creates} of each)",
                    flush=True,
                )
        if args.json:
            print(json.dumps(measured), flush=True)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            databases.drop(args.database)


if __name__ == "__main__":
    main()
