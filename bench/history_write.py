"""The write cost of one lead save with its history row, as a request pays it.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.history_write [--saves 2000]

A database of its own (`smartweb_bench_history`, dropped, created and migrated), one
organization and one lead. Each save is one transaction in the organization's context,
as a request's: the context is set, the lead's notes change (`update_fields`), the
history row is written, the transaction commits. It runs with a request's origin (an
address, a browser's user agent, a request id), so the history row carries them. Prints
the time per save (p50 / p95 / mean, ms) and the average size of a history row.
`--one-transaction` runs every save in one transaction: the statements and the Python
work alone, without the commit's flush to disk, which dominates on a busy host.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

from bench import world

DATABASE = "smartweb_bench_history"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def measure(saves: int, *, one_transaction: bool = False, warmup: int = 50) -> dict[str, float]:
    from django.db import connection
    from django.test import RequestFactory

    from leads import services
    from smartweb.origin import request_origin, running_as
    from smartweb.tenancy.context import tenant_context

    organization, admin = world.new_organization("history")
    with tenant_context(organization):
        lead = services.lead_create(
            acting_user=None,
            data={"contact_name": "Bench Lead", "contact_email": "bench@example.test"},
            company_data={"name": "Bench Roofing Ltd"},
            tags=(),
            allow_duplicate=True,
        )
    request = RequestFactory().patch(
        "/", REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT=USER_AGENT, HTTP_X_REQUEST_ID="bench-0001"
    )
    timings = []
    # One transaction per save (a request's, commit included), or all saves in one: the
    # statements and Python alone, without the commit's disk flush.
    outer = tenant_context(organization, user=admin) if one_transaction else nullcontext()
    with running_as(request_origin(request)), outer:
        for n in range(warmup + saves):
            started = time.perf_counter()
            with tenant_context(organization, user=admin):
                lead.notes = f"Called back, attempt {n}"
                lead.save(update_fields=["notes", "updated_at"])
            if n >= warmup:
                timings.append((time.perf_counter() - started) * 1000)
    with tenant_context(organization), connection.cursor() as cursor:
        cursor.execute(
            "SELECT avg(pg_column_size(h.*)) FROM leads_historicallead h WHERE h.id = %s",
            [lead.pk],
        )
        row_bytes = float(cursor.fetchone()[0])
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95)],
        "mean": statistics.fmean(timings),
        "history_row_bytes": row_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=2000)
    parser.add_argument("--reuse", action="store_true", help="keep the existing database")
    parser.add_argument(
        "--one-transaction", action="store_true", help="all saves in one transaction"
    )
    args = parser.parse_args()
    world.setup_django(DATABASE, fresh=not args.reuse)
    result = measure(args.saves, one_transaction=args.one_transaction)
    mode = " in one transaction" if args.one_transaction else ""
    print(
        f"{args.saves} saves{mode}: p50 {result['p50']:.3f} ms, p95 {result['p95']:.3f} ms, "
        f"mean {result['mean']:.3f} ms; history row {result['history_row_bytes']:.0f} bytes"
    )


if __name__ == "__main__":
    main()
