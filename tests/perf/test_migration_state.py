"""The runner measures only a database at the code's migration state; another is refused
with what differs and how to generate it again."""

from __future__ import annotations

import pytest

from bench import migration_state
from tests.perf.conftest import owner_url

pytestmark = pytest.mark.django_db


def test_a_database_at_the_codes_state_is_measured():
    migration_state.refuse_other_state(owner_url(), "test", "100k")


def test_a_database_missing_a_migration_is_refused(monkeypatch):
    applied = migration_state.applied_migrations(owner_url())
    dropped = max(applied)
    monkeypatch.setattr(migration_state, "applied_migrations", lambda url: applied - {dropped})
    with pytest.raises(SystemExit) as refused:
        migration_state.refuse_other_state(owner_url(), "smartweb_bench_100k", "100k")
    message = str(refused.value)
    assert "smartweb_bench_100k is at another migration state" in message
    assert f"1 migration(s) of this code not applied ({dropped[0]}.{dropped[1]})" in message
    assert "bench.generate --scale 100k" in message


def test_a_database_with_a_migration_the_code_lacks_is_refused(monkeypatch):
    applied = migration_state.applied_migrations(owner_url())
    extra = ("leads", "9999_from_another_branch")
    monkeypatch.setattr(migration_state, "applied_migrations", lambda url: applied | {extra})
    with pytest.raises(SystemExit, match="applied migration.s. this code lacks .leads.9999"):
        migration_state.refuse_other_state(owner_url(), "smartweb_bench_1m", "1m")


def test_many_differences_are_summed_up():
    code = {("leads", f"{n:04}") for n in range(8)}
    assert migration_state.difference(code, code) == ""
    assert migration_state.difference(code, set()) == (
        "8 migration(s) of this code not applied"
        " (leads.0000, leads.0001, leads.0002, leads.0003, leads.0004 and 3 more)"
    )
