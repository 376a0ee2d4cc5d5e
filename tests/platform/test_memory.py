"""The web process freezes its start-up objects, so that the garbage collector does not
scan them on every full collection."""

from __future__ import annotations

import gc
import importlib
import sys

from smartweb.memory import settle


def test_settle_freezes_what_start_up_made():
    try:
        settle()
        assert gc.get_freeze_count() > 10_000
        assert "leads.api.views" in sys.modules  # the URL conf's views, loaded first
    finally:
        gc.unfreeze()


def test_the_wsgi_entry_point_settles(monkeypatch):
    calls = []
    monkeypatch.setattr("smartweb.memory.settle", lambda: calls.append(True))
    monkeypatch.setattr("smartweb.startup.ensure_secure_database_role", lambda: None)
    sys.modules.pop("smartweb.wsgi", None)
    importlib.import_module("smartweb.wsgi")
    assert calls == [True]
