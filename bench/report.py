"""Markdown tables of a benchmark report (the measured part of bench/README.md).

python -m bench.report    # bench/README.md's measured part again from bench/results.json
"""

from __future__ import annotations

import re


def _kind(statement: str) -> str:
    first_from = re.search(r'FROM "(\w+)"', statement)
    name = first_from.group(1) if first_from else "?"
    # the table of the first selected column: the statement's own, not a sub-select's
    own = re.match(r'\(?SELECT "(\w+)"\.', statement)
    main = own.group(1) if own else name
    if "UNION ALL" in statement or "ARRAY(" in statement:
        return f"top per stage {name}"
    if "GROUP BY" in statement:
        return f"aggregate {name}"
    # A search's window count, or a list's count read as a sub-select of its page.
    if "OVER ()" in statement or '"listed_total"' in statement:
        return f"page with its count {main}"
    if "COUNT(" in statement:
        return f"count {name}"
    if "LIMIT" in statement:
        return f"page {main}"
    return f"by id {main}"


def main_statement(statements: list[str]) -> int:
    """The index of the statement the target is about: the page (or the top rows, or the
    aggregate), not the page count or the prefetches of related rows."""
    for index, statement in enumerate(statements):
        if _kind(statement).startswith(("page", "top per stage", "aggregate")):
            return index
    return 0


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


def _verdict(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return "✅" if value < target else "❌"


def _reference(result: dict) -> list[str]:
    if "reference" not in result:
        return []
    r = result["reference"]
    return [
        f"Reference, the floor of this host: the largest organization's first page of lead"
        f" ids by score, raw SQL through its index under RLS, p50 {r['p50']:.2f} / p95"
        f" {r['p95']:.2f} ms (the targets assume about 0.2 ms).",
        "",
    ]


def _profiles(result: dict, cases) -> list[str]:
    from bench.profile import PHASES

    rows = [(case, result["cases"][case.name]) for case in cases if case.name in result["cases"]]
    rows = [(case, r) for case, r in rows if "profile" in r]
    if not rows:
        return []
    out = [
        "",
        "Where a request's time goes, in process (bench.profile): mean ms per request over"
        " its profiled runs, each phase without the SQL it runs (`sql`: the statements'"
        " execution and fetch, plumbing included; `other`: the test client, middleware,"
        " routing, the ORM's building of queries and model instances, the view).",
        "",
        f"| query | total | {' | '.join(PHASES)} |",
        f"|---|---:|{'---:|' * len(PHASES)}",
    ]
    for case, r in rows:
        split = r["profile"]
        out.append(
            f"| {case.name} | {split['total']:.2f} | "
            + " | ".join(f"{split[name]:.2f}" for name in PHASES)
            + " |"
        )
    return out


def render(report: dict, cases) -> str:
    m = report["machine"]
    out = [
        f"Measured {m['date']} on {m['nproc']} cores, {m['memory_gib']} GiB, PostgreSQL "
        f"{m['postgresql']} (shared_buffers {m['shared_buffers']}), Python {m['python']}; "
        f"load average at start {m['load_average_at_start']}.",
        "",
    ]
    for scale, result in report["scales"].items():
        p = result["params"]
        out += [
            f"### {scale} leads",
            "",
            f"Largest organization `{p['slug']}`: {p['organization_leads']:,} leads; its busiest "
            f"rep has {p['rep_leads']:,}; the lead of the history has {p['lead_interactions']} "
            f"interactions; search term `{p['term']}`, fuzzy fragment `{p['fragment']}`.",
            "",
            *_reference(result),
            "| query | rows | main statement under RLS p50 / p95 (ms)"
            " | whole request's SQL under RLS p50 / p95 / p99 (ms) | target p95 (whole SQL)"
            " | without RLS p50 / p95 (ms)"
            " | RLS overhead (p50) | API p50 / p95 (ms) | API target p95 | API/SQL (p50) |",
            "|---|---:|---|---|---:|---|---:|---|---:|---:|",
        ]
        for case in cases:
            r = result["cases"].get(case.name)
            if r is None:
                continue
            rls, plain, api = r["rls"], r["no_rls"], r["api"]
            main = r["rls_each_statement"][main_statement(r["statements"])]
            # Judged by all the data statements of the request, not by one chosen statement.
            sql_target = f"{case.sql_target_ms:g} {_verdict(rls['p95'], case.sql_target_ms)}"
            definer = " ¹" if case.definer else ""
            api_target = (
                f"{case.api_target_ms:g} {_verdict(api['p95'], case.api_target_ms)}"
                if case.api_target_ms
                else "–"
            )
            out.append(
                f"| {case.title} | {r['rows']} | {main['p50']:.2f} / {main['p95']:.2f}"
                f" | {rls['p50']:.2f} / {rls['p95']:.2f} / {rls['p99']:.2f} | {sql_target}"
                f" | {plain['p50']:.2f} / {plain['p95']:.2f}"
                f" | {_ratio(rls['p50'], plain['p50'])}{definer}"
                f" | {api['p50']:.2f} / {api['p95']:.2f}"
                f" | {api_target} | {_ratio(api['p50'], rls['p50'])} |"
            )
        out += [
            "",
            "¹ The search itself runs in SECURITY DEFINER functions (leads.search), which"
            " bypass RLS and filter by the organization explicitly: this ratio covers only the"
            " outer look-up of the rows they found, not the search's cost.",
            *_profiles(result, cases),
            "",
            "Each statement of a request under RLS, p50 / p95 (ms):",
            "",
            "| query | statements |",
            "|---|---|",
        ]
        for case in cases:
            r = result["cases"].get(case.name)
            if r is None:
                continue
            parts = [
                f"{_kind(statement)} {timing['p50']:.2f} / {timing['p95']:.2f}"
                for statement, timing in zip(r["statements"], r["rls_each_statement"], strict=True)
            ]
            out.append(f"| {case.name} | {'; '.join(parts)} |")
        load = result.get("load")
        if load:
            t = load["total"]
            out += [
                "",
                f"Load: gunicorn {load['gunicorn_workers']} workers, {load['clients']} concurrent "
                f"clients, {load['seconds']} s, organizations {', '.join(load['organizations'])}: "
                f"**{t['requests']} requests, {t['throughput_rps']} req/s, p50 {t['p50']:.1f} ms, "
                f"p95 {t['p95']:.1f} ms, p99 {t['p99']:.1f} ms, {t['errors']} errors**.",
                "",
                "| operation | n | p50 (ms) | p95 (ms) | p99 (ms) |",
                "|---|---:|---:|---:|---:|",
            ]
            for op, s in load["operations"].items():
                out.append(
                    f"| {op} | {s['n']} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} |"
                )
            for sample in load["error_samples"]:
                out.append(f"\n    {sample}")
        writes = result.get("writes")
        if writes:
            out += ["", _writes(writes)]
        out.append("")
    return "\n".join(out) + "\n"


def _writes(writes: dict) -> str:
    """The import (bench.import_write) and a lead's create and update, in one line."""
    from bench.import_write import phase_seconds

    parts = [
        f"**{times['total']:.1f} s** ({writes['rows'] / times['total']:,.0f} rows/s;"
        f" {phase_seconds(times)})"
        for times in writes["imports"]
    ]
    line = f"Import of {writes['rows']:,} new leads from CSV (`bench.import_write`, target 60 s): "
    line += "; ".join(parts) + "."
    for kind, ms in writes["writes"].items():
        line += f" A lead's {kind}: p50 {ms['p50']:.1f} / p95 {ms['p95']:.1f} ms."
    return line


def main() -> int:
    """Render the last run's results again (after a change of this page's form): the
    figures stay those `make bench` measured."""
    import json

    from bench import run

    run.write_readme(json.loads(run.RESULTS.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
