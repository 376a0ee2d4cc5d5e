"""Notification tests: who was told what, read in the organization's context."""

from __future__ import annotations

import pytest

from notifications.models import Notification
from smartweb.tenancy.context import tenant_context
from tests.crm import factories


def told(organization, user=None, **filters) -> list[Notification]:
    """The notifications of `organization` (of `user`, when given), oldest first."""
    with tenant_context(organization):
        rows = Notification.objects.filter(**filters)
        if user is not None:
            rows = rows.filter(recipient=user)
        return list(rows.order_by("created_at"))


def kinds(organization, user=None, **filters) -> list[str]:
    return [n.kind for n in told(organization, user, **filters)]


@pytest.fixture
def opp_a(org_a, rep_a):
    """rep_a's open opportunity."""
    return factories.opportunity(org_a, owner=rep_a, name="Drip Drop website")
