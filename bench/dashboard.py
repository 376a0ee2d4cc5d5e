"""The largest organization's dashboards, as its admin: at the database and end to end.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.dashboard --scale 100k

Four requests, each captured once through Django (the test client: a logged-in session
for the admin's sales dashboard page, a real API token for the API): the dashboard page
(`/admin/crm/salesdashboard/`, its default period), the forecast
(`/api/v1/opportunities/forecast/`), the pipeline board's totals
(`/api/v1/pipelines/<default>/board/`) and the statistics of the organization's campaign
with the most calls (`/api/v1/campaigns/<id>/stats/`: the leads still to call, and the
calls by status and outcome). Measured in turn (`measure.interleaved`):

- each request's data statements together (plumbing left out, `run.captured_sql`) as the
  runtime role under RLS, each run in its own transaction with the organization context;
- each whole request through Django, in process.
"""

from __future__ import annotations

from bench import admin_pages, databases, measure, run

# The tables a dashboard reads: the facts, and the rollups kept from them.
TABLES = (
    "crm_opportunity",
    "crm_aicall",
    "crm_campaign",
    "leads_lead",
    "crm_opportunityrollup",
    "crm_leadrollup",
    "crm_aicallrollup",
)


def requests(params: dict) -> list[tuple[str, str, str, str]]:
    """(name, the admin's client kind, path, the statements measured: containing this)."""
    from django.urls import reverse

    dashboard = reverse("admin:crm_salesdashboard_changelist")
    board = f"/api/v1/pipelines/{params['pipeline']}/board/"
    campaign = f"/api/v1/campaigns/{_busiest_campaign(params)}/stats/"
    return [
        ("sales dashboard (admin page)", "session", dashboard, ""),
        ("forecast (API)", "token", "/api/v1/opportunities/forecast/", ""),
        ("board, its totals (API)", "token", board, "GROUP BY"),
        ("campaign statistics (API)", "token", campaign, ""),
    ]


def _busiest_campaign(params: dict) -> str:
    from django.db.models import Count

    from crm.models import Campaign
    from smartweb.tenancy.context import tenant_context

    with tenant_context(params["organization"]):
        ranked = Campaign.objects.annotate(n=Count("calls")).order_by("-n", "pk")
        return str(ranked.values_list("pk", flat=True)[0])


def measure_dashboards(scale: str, *, iterations: int, seconds: float) -> dict:
    url = databases.runtime_url(databases.database_name(scale))
    run._switch_database(url)
    params = run.discover(url)
    clients = {
        "session": admin_pages._logged_in(params["admin"]),
        "token": run.api_clients(params)["admin"],
    }
    listed = requests(params)
    statements = {
        name: run.captured_sql(clients[kind], path, TABLES, match=match)
        for name, kind, path, match in listed
    }
    results: dict = {"scale": scale, "slug": params["slug"], "requests": {}}
    with measure.connect(url) as conn:
        sql_runs = {
            name: measure.Statements(
                conn, statements[name], [str(params["organization"]), params["admin"]]
            )
            for name, *_ in listed
        }
        runs = {f"{name}: SQL": sql_runs[name] for name, *_ in listed}
        runs.update(
            {f"{name}: request": run.api_run(clients[kind], path) for name, kind, path, _ in listed}
        )
        timings = measure.interleaved(runs, iterations=iterations, seconds=seconds)
    for name, *_ in listed:
        results["requests"][name] = {
            "statements": len(statements[name]),
            "rows": sql_runs[name].rows,
            "sql": timings[f"{name}: SQL"].summary(),
            "request": timings[f"{name}: request"].summary(),
        }
    return results


def render(results: dict) -> str:
    lines = [
        "| request | statements | SQL p50 / p95 (ms) | request p50 / p95 (ms) |",
        "|---|---:|---:|---:|",
    ]
    for name, row in results["requests"].items():
        lines.append(
            f"| {name} | {row['statements']} | {row['sql']['p50']:.2f} / {row['sql']['p95']:.2f}"
            f" | {row['request']['p50']:.1f} / {row['request']['p95']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run.page_bench(
        argv, description=__doc__.splitlines()[0], measure=measure_dashboards, render=render
    )


if __name__ == "__main__":
    raise SystemExit(main())
