"""Where an API request's time goes, in process: its phases, and the functions of most own
time.

Phases are timed by wrapping the methods DRF calls for them (no profiler: its per-call
cost would inflate the phases of many small calls most) and made exclusive: the SQL a
phase runs counts as SQL, not as that phase. "other" is the rest of the request: the
test client, middleware, routing, the view's own code and the transaction.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.profile --scale 100k \
        --path /api/v1/leads/ --actor admin
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import time
from collections import defaultdict

PHASES = (
    "sql",
    "authentication",
    "permissions",
    "filtering",
    "serializing",
    "rendering",
    "other",
)


def _targets():
    """(owner, attribute, phase): the methods each phase is made of."""
    from rest_framework import serializers, views
    from rest_framework.generics import GenericAPIView
    from rest_framework.response import Response

    from smartweb.api.viewsets import OrganizationContextMixin

    return (
        (OrganizationContextMixin, "perform_authentication", "authentication"),
        (views.APIView, "check_permissions", "permissions"),
        (GenericAPIView, "filter_queryset", "filtering"),
        (serializers.BaseSerializer, "data", "serializing"),
        (Response, "rendered_content", "rendering"),
    )


class _Clock:
    """Exclusive time per phase: a nested phase's time is taken out of its parent's."""

    def __init__(self):
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[list] = []  # [phase, started, time of nested phases]

    @contextlib.contextmanager
    def phase(self, name: str):
        if self.stack and self.stack[-1][0] == name:  # a nested call of the same phase
            yield
            return
        frame = [name, time.perf_counter(), 0.0]
        self.stack.append(frame)
        try:
            yield
        finally:
            self.stack.pop()
            elapsed = time.perf_counter() - frame[1]
            self.totals[name] += elapsed - frame[2]
            if self.stack:
                self.stack[-1][2] += elapsed


def _wrapped(function, clock: _Clock, name: str):
    def timed(*args, **kwargs):
        with clock.phase(name):
            return function(*args, **kwargs)

    return timed


@contextlib.contextmanager
def _instrumented(clock: _Clock):
    from django.db import connection

    saved = []
    for owner, attribute, name in _targets():
        original = owner.__dict__[attribute]
        saved.append((owner, attribute, original))
        if isinstance(original, property):
            setattr(owner, attribute, property(_wrapped(original.fget, clock, name)))
        else:
            setattr(owner, attribute, _wrapped(original, clock, name))

    def sql(execute, statement, params, many, context):
        with clock.phase("sql"):
            return execute(statement, params, many, context)

    try:
        with connection.execute_wrapper(sql):
            yield
    finally:
        for owner, attribute, original in saved:
            setattr(owner, attribute, original)


def phases(client, path: str, runs: int = 30) -> dict[str, float]:
    """Mean ms per request of each phase over `runs` requests (after two warm-up ones)."""
    for _ in range(2):
        client.get(path)
    clock = _Clock()
    with _instrumented(clock):
        for _ in range(runs):
            with clock.phase("other"):
                response = client.get(path)
                response.content  # noqa: B018 - rendered within the request
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code}")
    result = {name: round(clock.totals[name] * 1000 / runs, 2) for name in PHASES}
    result["total"] = round(sum(clock.totals.values()) * 1000 / runs, 2)
    return result


def top_functions(client, path: str, runs: int = 30, most: int = 15) -> list[dict]:
    """The functions of most own time (cProfile, so inflated for small functions called
    often): ms and calls per request."""
    client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        client.get(path)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:most]
    return [
        {
            "function": f"{filename.rsplit('site-packages/', 1)[-1]}:{line}({name})",
            "own_ms": round(own * 1000 / runs, 3),
            "calls": round(calls / runs, 1),
        }
        for (filename, line, name), (_, calls, own, _cumulative, _) in rows
    ]


def render(split: dict[str, float]) -> str:
    parts = "  ".join(f"{name} {split[name]:.2f}" for name in PHASES)
    return f"{split['total']:.2f} = {parts}"


def main(argv: list[str] | None = None) -> int:
    from bench import databases, migration_state
    from bench import run as bench_run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="100k")
    parser.add_argument("--path", default="/api/v1/leads/?status=new")
    parser.add_argument("--actor", default="admin", choices=("admin", "rep"))
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    dbname = databases.database_name(args.scale)
    bench_run._django(databases.runtime_url(dbname))
    migration_state.refuse_other_state(databases.owner_url(dbname), dbname, args.scale)
    params = bench_run.discover(databases.runtime_url(dbname))
    client = bench_run.api_clients(params)[args.actor]
    path = args.path.format(**params)
    print(f"{path}: mean ms {render(phases(client, path, args.runs))}")
    for row in top_functions(client, path, args.runs):
        print(f"{row['own_ms']:8.3f} ms {row['calls']:8.1f}×  {row['function']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
