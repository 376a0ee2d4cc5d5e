"""Concurrent edits of different rows in one organization: the largest organization's
admin, six clients at once, each request a PATCH of an open opportunity's probability
(200 deals, chosen at random), against gunicorn with three workers.

    .venv/bin/python -m smartweb.devdb run -- \
        .venv/bin/python -m bench.concurrent_edits --scale 100k

Edits of different rows must not wait on one another: a lock taken on a row they share
(their organization, their lead) would queue them one behind the other, and the
throughput would stay that of one client however many there are. Prints the load test's
totals and its latencies as JSON.
"""

from __future__ import annotations

import argparse
import json

from bench import loadtest, run

MIX = {"update_opportunity": (1, "admin")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    loadtest.add_arguments(parser, seconds=20, workers=3, clients=6)
    args = parser.parse_args(argv)
    runtime_url = loadtest.generated_runtime_url(args.scale)
    result = loadtest.run(
        runtime_url,
        seconds=args.seconds,
        workers=args.workers,
        clients=args.clients,
        operations=MIX,
        organizations=1,
    )
    print(json.dumps({"scale": args.scale, **result, "machine": run.machine()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
