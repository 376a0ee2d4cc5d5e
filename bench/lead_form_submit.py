"""Public lead-form submissions per second, through the whole request stack.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.lead_form_submit \
        [--submissions 400] [--threads 4]

A database of its own (`smartweb_bench_forms`, dropped, created and migrated), one
organization with three sales reps and one form. Each submission is a JSON POST to
`/api/v1/forms/{key}/submit/` through Django's test client (middleware, the request's
transaction and commit included, no network), from its own client address so that only
the per-form limit applies (raised out of the way). One in four repeats an earlier
person (a known lead updated). Prints p50 / p95 per submission, sequentially, then the
throughput of `--threads` clients posting to the same form at once (each its own
connection; new leads of one form take turns on the form's row lock).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from bench import world

DATABASE = "smartweb_bench_forms"


def _setup() -> None:
    world.setup_django(DATABASE)
    from django.conf import settings

    settings.LEAD_FORM_KEY_LIMIT = settings.LEAD_FORM_ADDRESS_LIMIT = 10**9
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def _form():
    from accounts.models import Membership, Role, User
    from leads import lead_forms
    from smartweb.tenancy.context import tenant_context

    organization, _admin = world.new_organization("forms")
    with tenant_context(organization):
        role = Role.objects.get(slug="sales_rep")
        for n in range(3):
            user = User.objects.create_user(email=f"rep{n}@{organization.slug}.test", password=None)
            Membership.objects.create(organization=organization, user=user, role=role)
        return lead_forms.lead_form_create(
            acting_user=None,
            data={"name": "Bench", "consent_text": "Yes", "consent_purposes": ["contact"]},
        )


def _post(client, key: str, n: int) -> float:
    person = n - n % 4 if n % 4 == 3 else n  # every fourth repeats an earlier person
    body = {
        "contact_name": f"Person {person}",
        "contact_email": f"person{person}@bench.example",
        "company_name": f"Bench Trades {person}",
        "message": "A website for my business, please.",
        "consent": True,
    }
    started = time.perf_counter()
    response = client.post(
        f"/api/v1/forms/{key}/submit/",
        body,
        content_type="application/json",
        secure=True,
        REMOTE_ADDR=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
    )
    assert response.status_code == 201, response.content
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    _setup()
    from django.db import connection
    from django.test import Client

    form = _form()
    client = Client()
    timings = sorted(_post(client, form.public_key, n) for n in range(args.submissions))
    print(
        f"{args.submissions} sequential: p50 {statistics.median(timings):.1f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)]:.1f} ms, "
        f"{1000 * len(timings) / sum(timings):.0f} submissions/s"
    )
    offset = args.submissions
    per_thread = args.submissions // args.threads

    def run(index: int) -> None:
        try:
            thread_client = Client()
            for n in range(per_thread):
                _post(thread_client, form.public_key, offset + index * per_thread + n)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(args.threads)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = per_thread * args.threads
    print(f"{total} from {args.threads} threads: {total / elapsed:.0f} submissions/s")


if __name__ == "__main__":
    main()
