"""The read replica's replay lag while the load test writes (docs/decisions/0024).

    .venv/bin/python -m smartweb.devdb run -- \
        .venv/bin/python -m bench.replica_lag [--scale 100k] [--seconds 60]

A scratch primary of the server's major (smartweb.clusters) gets the roles and a copy of
the generated benchmark database (dump and restore, as the restore drill does), and a
streaming standby of it (pg_basebackup -R). `bench.loadtest` then drives gunicorn on the
primary, its reporting reads routed to the standby, while the standby's lag is sampled
every SAMPLE_SECONDS with the measure the application uses (smartweb.replica.LAG_SQL).
Prints the lag's percentiles and the load's throughput; everything is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench import databases, loadtest, measure
from bench.run import _django
from smartweb import clusters, ops, replica
from smartweb.db_bootstrap import bootstrap

SAMPLE_SECONDS = 0.2


def sample_lag(url: str, stop: threading.Event) -> list[float]:
    """Lag samples (seconds) from the standby until `stop` is set."""
    samples: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            in_recovery, lag = conn.execute(replica.LAG_SQL).fetchone()
            assert in_recovery, "the standby was promoted"
            samples.append(max(lag or 0.0, 0.0))
            stop.wait(SAMPLE_SECONDS)
    return samples


def on_port(url: str, port: int) -> str:
    """The same URL (a URL, which DATABASE_REPLICA_URL must be) on another port."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.netloc.rpartition(':')[0]}:{port}"))


def run(scale: str, seconds: int) -> dict:
    source = databases.backup_url(databases.database_name(scale))
    major = ops.server_major_version(source)
    scratch = Path(tempfile.mkdtemp(prefix="smartweb-replica-bench-"))
    user = clusters.system_user()
    clusters.hand_over(scratch, user)
    password = secrets.token_urlsafe(16)
    primary = clusters.initdb(scratch / "primary", major, password, user)
    standby = None
    try:
        primary.start()
        roles = bootstrap(primary.url(password))
        dump = scratch / "bench.dump"
        ops.dump(source, dump)
        ops.restore(dump, roles.owner)
        standby = clusters.standby(primary, scratch / "standby", roles.backup)
        standby.start()
        runtime = roles.runtime
        _django(runtime)
        stop = threading.Event()
        lags: list[float] = []
        sampler = threading.Thread(
            target=lambda: lags.extend(
                sample_lag(clusters.with_address(primary.url(password), standby.port), stop)
            )
        )
        sampler.start()
        try:
            load = loadtest.run(
                runtime,
                seconds=seconds,
                workers=3,
                clients=6,
                operations={**loadtest.OPERATIONS, "forecast": (10, "admin")},
                server_env={"DATABASE_REPLICA_URL": on_port(runtime, standby.port)},
            )
        finally:
            stop.set()
            sampler.join()
        return {
            "scale": scale,
            "postgres": major,
            "lag_ms": {
                **measure.Timing([lag * 1000 for lag in lags]).summary(),
                "max": round(max(lags, default=0) * 1000, 1),
            },
            "lag_samples": len(lags),
            "load": load["total"],
            "error_samples": load["error_samples"],
            "forecast": load["operations"]["forecast"],
            "forecast_read_from": load["read_from"].get("forecast", {}),
        }
    finally:
        if standby is not None:
            standby.remove()
        primary.remove()
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="100k", choices=sorted(databases.SCALES))
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.scale, args.seconds), indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
