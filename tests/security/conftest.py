"""Module-wide rows: built once and committed (tests of a module only read them, each in
its own rolled-back transaction), then emptied by the owner role as a transactional
test's teardown does."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.management import call_command

from tests.conftest import _as_owner


@contextmanager
def committed_for_module(django_db_blocker):
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            with _as_owner():
                call_command("flush", verbosity=0, interactive=False)
