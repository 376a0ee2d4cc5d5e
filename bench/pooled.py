"""Direct versus pooled: the API's lead list under concurrent clients, gunicorn connected to
the server directly, then through a transaction-mode PgBouncer (smartweb.pooler) with as
many server connections as workers and with fewer.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.pooled --scale 100k

Each run is `bench.loadtest` with its `list_leads` operation only (an organization
admin's first page of leads by status, five organizations, real tokens), 32 clients
against 4 gunicorn workers by default. Pooled, gunicorn has DATABASE_URL the pooler's
and DATABASE_DIRECT_URL the server's, as deployed (docs/operations.md). While each run
lasts, the server connections gunicorn's requests run on are counted every 0.2 s (by
their application_name, which PgBouncer passes on). Prints the results as JSON and as
the table of bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
from pathlib import Path

from bench import loadtest, measure, run
from smartweb import pooler

APPLICATION_NAME = "bench-pooled"


class ConnectionCount:
    """The most server connections of the web processes to the database, sampled."""

    def __init__(self, runtime_url: str):
        self.url = runtime_url
        self.most = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        with measure.connect(self.url) as conn:
            while not self._done.wait(0.2):
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = %s",
                    [APPLICATION_NAME],
                ).fetchone()
                self.most = max(self.most, count)

    def __enter__(self) -> ConnectionCount:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def measured(runtime_url: str, args, server_env: dict[str, str] | None = None) -> dict:
    server_env = {"PGAPPNAME": APPLICATION_NAME, **(server_env or {})}
    with ConnectionCount(runtime_url) as connections:
        result = loadtest.run(
            runtime_url,
            seconds=args.seconds,
            workers=args.workers,
            clients=args.clients,
            operations={"list_leads": loadtest.OPERATIONS["list_leads"]},
            server_env=server_env,
        )
    return {
        **result["total"],
        "server_connections": connections.most,
        "error_samples": result["error_samples"],
    }


def pooled(runtime_url: str, args, pool_size: int) -> dict:
    directory = Path(tempfile.mkdtemp(prefix="smartweb-bench-pooler-"))
    running = pooler.configure(directory, [runtime_url], pool_size=pool_size)
    running.start()
    try:
        env = {"DATABASE_URL": running.url(runtime_url), "DATABASE_DIRECT_URL": runtime_url}
        return measured(runtime_url, args, env)
    finally:
        running.stop()
        shutil.rmtree(directory, ignore_errors=True)


def render(results: dict) -> str:
    lines = [
        "| connection | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors"
        " | server connections |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in results["runs"].items():
        lines.append(
            f"| {name} | {row['throughput_rps']:.1f} | {row['p50']:.1f} | {row['p95']:.1f}"
            f" | {row['p99']:.1f} | {row['errors']} | {row['server_connections']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    loadtest.add_arguments(parser, seconds=30, workers=4, clients=32)
    parser.add_argument(
        "--pool-sizes", type=int, nargs="+", default=[4, 2], help="server connections, pooled"
    )
    args = parser.parse_args(argv)
    runtime_url = loadtest.generated_runtime_url(args.scale)
    runs = {"direct": measured(runtime_url, args)}
    for size in args.pool_sizes:
        runs[f"PgBouncer, pool of {size}"] = pooled(runtime_url, args, size)
    results = {
        "scale": args.scale,
        "workers": args.workers,
        "clients": args.clients,
        "runs": runs,
        "machine": run.machine(),
    }
    print(json.dumps(results, indent=2))
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
