"""Outbound webhooks: deliveries per second to a local receiver, and the outbox's lag
(from an event's commit to its receiver's 2xx) under a steady load of events.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.webhooks [--events 2000]

A database of its own (`smartweb_bench_webhooks`, dropped, created and migrated), an
organization with one or two endpoints subscribed to `lead.created`, and a receiver on
127.0.0.1 in a process of its own (a threading http.server answering 200 at once).

1. Throughput: `--events` events are emitted (100 per transaction) to an organization
   with 1 endpoint, then to one with 2, and drained by a drain per endpoint (threads,
   each its own connection, as the worker's `webhooks.deliver` jobs of two endpoints run
   side by side; one endpoint's deliveries go one at a time): deliveries per second.
2. Lag: a producer commits `--rate` events per second, one per transaction, for
   `--seconds`, to an organization with `--endpoints` endpoints whose drains poll for due
   deliveries (as the on-commit nudge keeps a worker busy); the lag of each delivery is
   `delivered_at - created_at`.
Every loop is bounded by a count and a time; the run stops by itself.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import world

DATABASE = "smartweb_bench_webhooks"
DEADLINE_SECONDS = 300  # no phase runs longer than this


class _Answer200(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve(port_out) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer200)
    server.daemon_threads = True
    port_out.put(server.server_port)
    server.serve_forever()


def _organization(url: str, endpoints: int):
    from smartweb.tenancy.context import tenant_context
    from webhooks import services

    organization, _admin = world.new_organization(f"webhooks-{endpoints}")
    with tenant_context(organization):
        for n in range(endpoints):
            services.endpoint_create(
                acting_user=None, url=f"{url}/{n}", event_types=["lead.created"]
            )
    return organization


def _emit(organization, count: int) -> None:
    from smartweb.tenancy.context import tenant_context
    from webhooks.outbox import emit

    for start in range(0, count, 100):
        with tenant_context(organization):
            for n in range(start, min(start + 100, count)):
                emit("lead.created", {"lead": {"id": n, "status": "new"}})


def _drains(organization, *, stop: threading.Event | None = None) -> None:
    """A drain per endpoint of the organization, at once, until nothing is due (or, with
    `stop`, until it is set)."""
    from django.db import connection

    from smartweb.tenancy.context import tenant_context
    from webhooks.delivery import deliver_due
    from webhooks.models import Endpoint

    with tenant_context(organization):
        endpoints = list(Endpoint.objects.values_list("pk", flat=True))
    deadline = time.monotonic() + DEADLINE_SECONDS

    def drain(endpoint_id):
        try:
            while time.monotonic() < deadline:
                if deliver_due(organization_id=organization.pk, endpoint_id=endpoint_id) == 0:
                    if stop is None or stop.is_set():
                        return
                    time.sleep(0.02)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain, args=(pk,)) for pk in endpoints]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def throughput(url: str, events: int, endpoints: int) -> float:
    from smartweb.tenancy.context import tenant_context
    from webhooks.models import Delivery

    organization = _organization(url, endpoints)
    _emit(organization, events)
    started = time.perf_counter()
    _drains(organization)
    elapsed = time.perf_counter() - started
    with tenant_context(organization):
        left = Delivery.objects.filter(status="pending").count()
    if left:
        raise SystemExit(f"{left} deliveries were left undelivered")
    return events * endpoints / elapsed


def lag(url: str, rate: int, seconds: int, endpoints: int) -> dict[str, float]:
    from django.db import connection
    from django.db.models import F

    from smartweb.tenancy.context import tenant_context
    from webhooks.models import Delivery
    from webhooks.outbox import emit

    organization = _organization(url, endpoints)
    stop = threading.Event()
    consumers = threading.Thread(target=_drains, args=(organization,), kwargs={"stop": stop})
    consumers.start()
    started = time.perf_counter()
    for n in range(rate * seconds):
        due = started + n / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        with tenant_context(organization):
            emit("lead.created", {"lead": {"id": n, "status": "new"}})
    achieved = rate * seconds / (time.perf_counter() - started)
    stop.set()
    consumers.join()
    with tenant_context(organization):
        lags = sorted(
            (d.total_seconds() * 1000)
            for d in Delivery.objects.filter(status="delivered")
            .annotate(lag=F("delivered_at") - F("event__created_at"))
            .values_list("lag", flat=True)
        )
    connection.close()
    return {
        "rate": achieved,
        "delivered": len(lags),
        "p50": statistics.median(lags),
        "p95": lags[int(len(lags) * 0.95)],
        "max": lags[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=50, help="events per second (lag phase)")
    parser.add_argument("--seconds", type=int, default=20, help="length of the lag phase")
    parser.add_argument("--endpoints", type=int, default=1, help="endpoints in the lag phase")
    parser.add_argument("--reuse", action="store_true", help="keep the existing database")
    args = parser.parse_args()
    world.setup_django(
        DATABASE,
        fresh=not args.reuse,
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES="1",  # the receiver is on 127.0.0.1
    )
    ports = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
    receiver.start()
    try:
        url = f"http://127.0.0.1:{ports.get(timeout=30)}/hooks"
        for endpoints in (1, 2):
            per_second = throughput(url, args.events, endpoints)
            print(f"throughput, {endpoints} endpoint(s): {per_second:.0f} deliveries/s")
        result = lag(url, args.rate, args.seconds, args.endpoints)
        print(
            f"lag at {result['rate']:.0f} events/s, {args.endpoints} endpoint(s),"
            f" {result['delivered']} delivered: p50 {result['p50']:.0f} ms,"
            f" p95 {result['p95']:.0f} ms, max {result['max']:.0f} ms"
        )
    finally:
        receiver.terminate()
        receiver.join(timeout=10)


if __name__ == "__main__":
    main()
