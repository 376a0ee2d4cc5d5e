"""A database outage is one line a request in the log, not a traceback; other faults keep
theirs. Written through the configured console handler's filters and format."""

from __future__ import annotations

import io
import logging

import psycopg
import pytest


def _logged(exc_info) -> str:
    console = next(h for h in logging.getLogger().handlers if h.filters)
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.filters = list(console.filters)
    capture.setFormatter(console.formatter)
    logger = logging.getLogger("django.request")
    logger.addHandler(capture)
    try:
        logger.error("Service Unavailable: %s", "/api/v1/leads/", exc_info=exc_info)
    finally:
        logger.removeHandler(capture)
    return stream.getvalue()


def _raised(make):
    try:
        make()
    except Exception as exc:  # noqa: BLE001 - the fault under test
        return (type(exc), exc, exc.__traceback__)
    pytest.fail("nothing was raised")


def test_an_unreachable_database_is_one_line():
    # A port nothing listens on: the driver's own "connection refused".
    refused = _raised(lambda: psycopg.connect("postgresql://x@127.0.0.1:1/x", connect_timeout=2))
    logged = _logged(refused)
    assert "Traceback" not in logged
    assert logged.count("\n") == 1
    assert "Service Unavailable: /api/v1/leads/ (database unavailable:" in logged


def test_a_fault_of_the_program_keeps_its_traceback():
    logged = _logged(_raised(lambda: {}["missing"]))
    assert "Traceback" in logged and "KeyError" in logged
