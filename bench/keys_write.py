"""The write cost of the tenant keys, before and after they are widened (ADR 0035).

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.keys_write [--creates 500]

A database of its own (`smartweb_bench_keys`, dropped and created), migrated up to the
migration before `smartweb.0004_distribution_keys`: primary keys `(id)` beside the
`(organization_id, id)` tenant keys, each reference checked by Django's single-column
foreign key and by the composite one. Measured there, then the migration is applied and
the same is measured again on the same database, back to back:

- a lead created through `leads.services.lead_create` (company, lead, their history rows),
  each in its own transaction in the organization's context, as a request does;
- a CSV import of `--rows` leads (`leads.csv_io.import_leads`, one transaction).

Prints, per schema, the lead creates' p50 / p95 / mean (ms), the import's seconds, the
foreign key triggers and unique indexes the lead and company rows pay for.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time

from bench import databases, world

DATABASE = "smartweb_bench_keys"
WIDENING = ("smartweb", "0004_distribution_keys")


def _migrate(*args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0", *args],
        cwd=databases.BASE_DIR,
        env=databases.django_env(databases.owner_url(DATABASE)),
        check=True,
    )


def _before_widening() -> list[list[str]]:
    """`migrate APP MIGRATION` arguments for every app's last migration but the widening."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    leaves = [node for node in loader.graph.leaf_nodes() if node != WIDENING]
    if WIDENING in loader.graph.leaf_nodes():
        leaves.append(loader.graph.node_map[WIDENING].parents.copy().pop().key)
    return [[app, name] for app, name in leaves]


def lead_creates(creates: int, warmup: int = 50) -> dict[str, float]:
    from leads import services
    from smartweb.tenancy.context import tenant_context

    organization, admin = world.new_organization("keys-" + "create")
    timings = []
    for n in range(warmup + creates):
        started = time.perf_counter()
        with tenant_context(organization, user=admin):
            services.lead_create(
                acting_user=None,
                data={"contact_name": f"Lead {n}", "contact_email": f"lead{n}@example.test"},
                company_data={"name": f"Roofing {n} Ltd"},
                allow_duplicate=True,
            )
        if n >= warmup:
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95)],
        "mean": statistics.fmean(timings),
    }


def csv_import(rows: int) -> float:
    from leads.csv_io import import_leads
    from smartweb.tenancy.context import tenant_context

    organization, admin = world.new_organization("keys-" + "import")
    lines = ["company_name,contact_name,contact_email,city"]
    lines += [f"Plumbing {n} Ltd,Contact {n},contact{n}@example.test,Leeds" for n in range(rows)]
    source = io.StringIO("\n".join(lines) + "\n")
    started = time.perf_counter()
    with tenant_context(organization, user=admin):
        report = import_leads(source=source, acting_user=None)
    elapsed = time.perf_counter() - started
    assert report.committed and report.created == rows, report
    return elapsed


def checks_paid() -> dict[str, int]:
    """Foreign key triggers fired by an insert into, and unique indexes kept by, the
    lead and company tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid IN ('leads_lead'::regclass, 'leads_company'::regclass)"
        )
        foreign_keys = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM pg_index WHERE indisunique"
            " AND indrelid IN ('leads_lead'::regclass, 'leads_company'::regclass)"
        )
        unique = cursor.fetchone()[0]
    return {"foreign_keys": foreign_keys, "unique_indexes": unique}


def measure(label: str, creates: int, rows: int) -> None:
    creates_ms = lead_creates(creates)
    seconds = csv_import(rows)
    paid = checks_paid()
    print(
        f"{label}: lead create p50 {creates_ms['p50']:.2f} ms, p95 {creates_ms['p95']:.2f} ms,"
        f" mean {creates_ms['mean']:.2f} ms; import of {rows:,} leads {seconds:.2f} s"
        f" ({rows / seconds:,.0f} rows/s); lead + company: {paid['foreign_keys']} foreign"
        f" keys, {paid['unique_indexes']} unique indexes",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    databases.recreate_empty(DATABASE)
    world.setup_django(DATABASE, fresh=False)
    for target in _before_widening():
        _migrate(*target)
    measure("before (id keys + both foreign keys)", args.creates, args.rows)
    _migrate()
    measure("after (organization_id keys, composite foreign keys only)", args.creates, args.rows)


if __name__ == "__main__":
    main()
