"""Fixtures of the platform tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def raw_schema(client) -> dict:
    """The OpenAPI schema as /api/schema/ serves it."""
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
