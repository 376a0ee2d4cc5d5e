"""Concurrent load against a real HTTP server: gunicorn on 127.0.0.1, bounded in time.

Several organizations (the three largest and two small ones), each with a real API
token of its admin and of a sales rep, mixed reads and writes. Reports throughput,
latency percentiles per operation and every error.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

from bench import databases, measure

GUNICORN = Path(sys.executable).with_name("gunicorn")
# operation -> (weight, actor)
OPERATIONS = {
    "list_leads": (20, "admin"),
    "rep_leads": (10, "rep"),
    "timeline": (15, "rep"),
    "board": (5, "admin"),
    "search": (10, "admin"),
    "top_opportunities": (10, "admin"),
    "log_interaction": (20, "rep"),
    "update_lead": (10, "rep"),
}


def _request(session: requests.Session, base: str, op: str, target: dict, rng: random.Random):
    lead = rng.choice(target["leads"])
    if op == "list_leads" or op == "rep_leads":
        return session.get(f"{base}/api/v1/leads/?status={rng.choice(['new', 'contacted'])}")
    if op == "timeline":
        return session.get(f"{base}/api/v1/leads/{lead}/timeline/")
    if op == "board":
        return session.get(f"{base}/api/v1/pipelines/{target['pipeline']}/board/")
    if op == "search":
        return session.get(f"{base}/api/v1/companies/?search={target['term']}")
    if op == "top_opportunities":
        return session.get(f"{base}/api/v1/opportunities/?status=open&ordering=-weighted_value")
    if op == "log_interaction":
        body = {"lead": lead, "type": "note", "subject": "Load test", "content": "Called back."}
        return session.post(f"{base}/api/v1/interactions/", json=body)
    if op == "forecast":
        return session.get(f"{base}/api/v1/opportunities/forecast/")
    if op == "update_lead":
        return session.patch(
            f"{base}/api/v1/leads/{lead}/", json={"notes": f"Checked {rng.random()}"}
        )
    if op == "update_opportunity":
        deal = rng.choice(target["opportunities"])
        return session.patch(
            f"{base}/api/v1/opportunities/{deal}/", json={"probability": str(rng.randint(1, 99))}
        )
    raise ValueError(op)


def add_arguments(parser, *, seconds: int, workers: int, clients: int) -> None:
    """The options of a bench that runs the load test: its scale, length and size."""
    parser.add_argument("--scale", default="100k", help="10k, 100k or 1m (generated first)")
    parser.add_argument("--seconds", type=int, default=seconds, help="of each run")
    parser.add_argument("--workers", type=int, default=workers, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=clients, help="concurrent clients")


def generated_runtime_url(scale: str) -> str:
    """The runtime role's URL of the scale's generated database, with Django set up on it;
    a missing database stops the bench with the command that generates it."""
    from bench import run

    dbname = databases.database_name(scale)
    if not databases.generated(dbname):
        raise SystemExit(f"Generate it first: python -m bench.generate --scale {scale}")
    runtime_url = databases.runtime_url(dbname)
    run._django(runtime_url)
    return runtime_url


def targets(runtime_url: str) -> list[dict]:
    """Tokens, leads of the rep, pipeline and a search term of five organizations."""
    from accounts import services
    from accounts.models import User
    from smartweb.tenancy.context import tenant_context

    with measure.connect(runtime_url) as conn:
        slugs = [
            r[0]
            for r in conn.execute(
                "SELECT slug FROM accounts_organization WHERE slug LIKE 'bench-%' ORDER BY slug"
            ).fetchall()
        ]
    chosen = slugs[:3] + slugs[-2:] if len(slugs) > 5 else slugs
    found = []
    with measure.connect(runtime_url) as conn:
        for slug in chosen:
            with conn.transaction():
                org = conn.execute(
                    "SELECT id FROM accounts_organization WHERE slug = %s", [slug]
                ).fetchone()[0]
                conn.execute(measure.CONTEXT, [str(org), ""])
                admin = conn.execute(
                    "SELECT m.user_id FROM accounts_membership m JOIN accounts_role r"
                    " ON r.id = m.role_id WHERE r.slug = 'org_admin'"
                ).fetchone()[0]
                (rep,) = conn.execute(
                    "SELECT assigned_to_id FROM leads_lead WHERE assigned_to_id IS NOT NULL"
                    " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ).fetchone()
                leads = [
                    str(r[0])
                    for r in conn.execute(
                        "SELECT id FROM leads_lead WHERE assigned_to_id = %s AND deleted_at IS NULL"
                        " AND status NOT IN ('converted', 'lost') LIMIT 200",
                        [rep],
                    ).fetchall()
                ]
                pipeline = conn.execute("SELECT id FROM crm_pipeline WHERE is_default").fetchone()[
                    0
                ]
                opportunities = [
                    str(r[0])
                    for r in conn.execute(
                        "SELECT id FROM crm_opportunity WHERE status = 'open'"
                        " AND deleted_at IS NULL LIMIT 200"
                    ).fetchall()
                ]
                term = conn.execute(
                    "SELECT split_part(name, ' ', 1) FROM leads_company LIMIT 1"
                ).fetchone()[0]
            tokens = {}
            for actor, user_id in (("admin", admin), ("rep", rep)):
                user = User.objects.get(pk=user_id)
                with tenant_context(org, user=user):
                    _, tokens[actor] = services.token_create(
                        user=user, organization_id=org, name="load test", expires_in_days=1
                    )
            found.append(
                {
                    "slug": slug,
                    "tokens": tokens,
                    "leads": leads,
                    "pipeline": str(pipeline),
                    "opportunities": opportunities,
                    "term": term,
                }
            )
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")


def run(
    runtime_url: str,
    *,
    seconds: int,
    workers: int,
    clients: int,
    operations: dict[str, tuple[int, str]] = OPERATIONS,
    server_env: dict[str, str] | None = None,
    organizations: int | None = None,
) -> dict:
    """`operations`: the mix (name -> weight, actor) for `seconds`; `server_env` on top of
    gunicorn's environment (bench.pooled: DATABASE_URL through a pooler; bench.replica_lag:
    DATABASE_REPLICA_URL); `organizations`: only the first (largest) ones."""
    found = targets(runtime_url)[:organizations]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        databases.django_env(runtime_url),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        **(server_env or {}),
    )
    proc = subprocess.Popen(
        [
            str(GUNICORN),
            "smartweb.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=databases.BASE_DIR,
        env=env,
        start_new_session=True,
        # The access log (gunicorn.conf.py) is written as deployed, to stdout, but not
        # into the bench's own output, where its thousands of lines hid the results.
        stdout=subprocess.DEVNULL,
    )
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    # op -> X-Read-From -> count: where the server read the reporting answers from.
    read_from: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lock = threading.Lock()
    try:
        _wait_ready(base, proc)
        deadline = time.monotonic() + seconds
        names = list(operations)
        weights = [operations[n][0] for n in names]

        def client(index: int) -> None:
            rng = random.Random(index)
            sessions = {}
            for t in found:
                for actor, token in t["tokens"].items():
                    s = requests.Session()
                    s.headers["Authorization"] = f"Bearer {token}"
                    sessions[(t["slug"], actor)] = s
            while time.monotonic() < deadline:
                target = rng.choice(found)
                op = rng.choices(names, weights)[0]
                session = sessions[(target["slug"], operations[op][1])]
                started = time.perf_counter()
                try:
                    response = _request(session, base, op, target, rng)
                    failed = (
                        None
                        if response.status_code < 400
                        else (f"{op} {response.status_code} {response.text[:200]}")
                    )
                except requests.RequestException as exc:
                    response = None
                    failed = f"{op} {exc.__class__.__name__}: {exc}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies[op].append(elapsed)
                    if failed:
                        errors.append(failed)
                    if response is not None and "X-Read-From" in response.headers:
                        read_from[op][response.headers["X-Read-From"]] += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    everything = [x for samples in latencies.values() for x in samples]
    return {
        "seconds": round(wall, 1),
        "gunicorn_workers": workers,
        "clients": clients,
        "organizations": [t["slug"] for t in found],
        "total": {
            "requests": len(everything),
            "throughput_rps": round(len(everything) / wall, 1),
            "errors": len(errors),
            **measure.Timing(everything).summary(),
        },
        "operations": {op: measure.Timing(s).summary() for op, s in sorted(latencies.items())},
        "error_samples": errors[:10],
        "read_from": {op: dict(sources) for op, sources in read_from.items()},
    }
