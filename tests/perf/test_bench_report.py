"""The bench's page (bench/report.py) shows the import and a lead's writes that `make
bench` measured, beside the request cases, from the run's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report, run

WRITES = {
    "rows": 100_000,
    "imports": [
        {"parse": 12.0, "deduplicate": 0.7, "write": 20.1, "deferred keys": 3.0, "total": 36.4}
    ],
    "writes": {
        "create": {"p50": 10.5, "p95": 12.7, "mean": 10.8},
        "update": {"p50": 5.9, "p95": 8.5, "mean": 6.2},
    },
}


def test_the_page_shows_the_import_and_the_writes():
    last = json.loads(Path(run.RESULTS).read_text())
    scale = next(iter(last["scales"]))
    last["scales"] = {scale: {**last["scales"][scale], "writes": WRITES}}
    page = report.render(last, run.CASES)
    assert (
        "Import of 100,000 new leads from CSV (`bench.import_write`, target 60 s): **36.4 s**"
        " (2,747 rows/s; parse 12.0, deduplicate 0.7, write 20.1, deferred keys 3.0)."
        " A lead's create: p50 10.5 / p95 12.7 ms. A lead's update: p50 5.9 / p95 8.5 ms."
    ) in page
    del last["scales"][scale]["writes"]
    assert "Import of" not in report.render(last, run.CASES)


def test_counts_and_seconds_out_of_range_are_refused_before_anything_runs(capsys):
    """A negative import or load test, or no iterations, is an error naming the argument,
    not a run that measures nothing or fails later."""
    for arguments in (["--import-rows", "-5"], ["--load-seconds", "x"], ["--iterations", "0"]):
        with pytest.raises(SystemExit) as exited:
            run.main(arguments)
        assert exited.value.code == 2
        assert f"argument {arguments[0]}: must be" in capsys.readouterr().err


def test_a_page_that_reads_its_count_is_named_so():
    page = (
        'SELECT "crm_task"."id", (SELECT count(*) FROM (SELECT "crm_task"."id" FROM "crm_task"'
        ' WHERE "crm_task"."status" = \'open\') counted(n)) AS "listed_total" FROM "crm_task"'
        ' ORDER BY "crm_task"."due_at" ASC LIMIT 50'
    )
    searched = (
        'SELECT "leads_lead"."id", COUNT(*) OVER () AS "listed_total" FROM "leads_lead" LIMIT 50'
    )
    count = 'SELECT COUNT(*) AS "__count" FROM "crm_task"'
    assert report._kind(page) == "page with its count crm_task"
    assert report._kind(searched) == "page with its count leads_lead"
    assert report._kind(count) == "count crm_task"
    assert report.main_statement([count, page]) == 1
