"""Admin pages rendered server-side, as a logged-in member of the largest organization.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.admin_pages --scale 100k

Three pages: the admin home (`/admin/`), a lead's change page whose lead has 200 timeline
entries (interactions and tasks, added through the services on first run), and the board
of the organization's default pipeline. Each is requested through Django in process (the
test client with a logged-in session: middleware, the organization context, the admin
view and its template rendering; no network, no browser), after a few warm-up requests,
in turn with the others (`measure.interleaved`). For each: p50 / p95 / p99 of the whole
request, and the number of queries it runs, counted again on a smaller input (a lead with
a few entries, the board narrowed to one owner) to show that it does not grow with the
data. The database is the one `bench.generate` made for the scale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bench import databases, measure, run

TIMELINE_ENTRIES = 200
TIMELINE_TASKS = 50  # of the entries; the rest are interactions
ACTORS = ("admin", "rep")


def _timeline_lead(params: dict, user) -> tuple[str, str]:
    """The busiest rep's first lead, topped up to TIMELINE_ENTRIES entries through the
    services (once: the count is checked first), and another of their leads with a few
    (the rep sees their own leads only; the admin sees every lead)."""
    from crm import services as crm_services
    from crm.models import Task
    from leads import services as lead_services
    from leads.models import Interaction, Lead
    from smartweb.tenancy.context import tenant_context

    with tenant_context(params["organization"]):
        theirs = Lead.objects.filter(assigned_to_id=params["rep"]).order_by("created_at")
        lead = theirs.first()
        interactions = Interaction.objects.filter(lead=lead).count()
        tasks = Task.objects.filter(lead=lead).count()
        for n in range(TIMELINE_ENTRIES - TIMELINE_TASKS - interactions):
            lead_services.interaction_log(
                lead=lead,
                acting_user=None,
                data={"type": "note", "subject": f"Bench note {n}", "content": "Called back."},
            )
        for n in range(TIMELINE_TASKS - tasks):
            crm_services.task_create(
                acting_user=None,
                title=f"Bench follow-up {n}",
                lead=lead,
                assigned_to=user,
                due_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=n),
            )
        few = theirs.exclude(pk=lead.pk).values_list("pk", flat=True).first()
    return str(lead.pk), str(few)


def _logged_in(user_id: str):
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    return client


def _queries(client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code}")
    return len(captured)


def pages(params: dict, lead: str, few_lead: str) -> list[tuple[str, str, str]]:
    """(name, path, the same page on a smaller input)."""
    from django.urls import reverse

    board = reverse("admin:crm_pipeline_board", args=[params["pipeline"]])
    return [
        ("admin home", reverse("admin:index"), reverse("admin:index")),
        (
            f"lead page, {TIMELINE_ENTRIES} timeline entries",
            reverse("admin:leads_lead_change", args=[lead]),
            reverse("admin:leads_lead_change", args=[few_lead]),
        ),
        ("pipeline board", board, f"{board}?owner={params['rep']}"),
    ]


def measure_pages(scale: str, *, iterations: int, seconds: float) -> dict:
    from accounts.models import User

    run._switch_database(databases.runtime_url(databases.database_name(scale)))
    params = run.discover(databases.runtime_url(databases.database_name(scale)))
    lead, few_lead = _timeline_lead(params, User.objects.get(pk=params["rep"]))
    results: dict = {"scale": scale, "slug": params["slug"], "lead": lead, "actors": {}}
    for actor in ACTORS:
        client = _logged_in(params[actor])
        listed = pages(params, lead, few_lead)
        runs: dict[str, Callable[[], float]] = {
            name: run.api_run(client, path) for name, path, _ in listed
        }
        timings = measure.interleaved(runs, iterations=iterations, seconds=seconds)
        results["actors"][actor] = {
            name: {
                **timings[name].summary(),
                "queries": _queries(client, path),
                "queries_smaller_input": _queries(client, smaller),
            }
            for name, path, smaller in listed
        }
    return results


def render(results: dict) -> str:
    lines = [
        "| page | as | p50 (ms) | p95 (ms) | p99 (ms) | queries | on a smaller input |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for actor, measured in results["actors"].items():
        for name, row in measured.items():
            lines.append(
                f"| {name} | {actor} | {row['p50']:.1f} | {row['p95']:.1f} | {row['p99']:.1f}"
                f" | {row['queries']} | {row['queries_smaller_input']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run.page_bench(
        argv, description=__doc__.splitlines()[0], measure=measure_pages, render=render
    )


if __name__ == "__main__":
    raise SystemExit(main())
