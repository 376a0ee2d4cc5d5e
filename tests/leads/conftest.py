"""Leads of organization A owned by different people, and one lead of B."""

import pytest

from tests.leads.factories import (
    EnrichmentFactory,
    InteractionFactory,
    TagFactory,
    make_lead,
)


@pytest.fixture
def lead_a(org_a, rep_a):
    """rep_a's lead (rep_a is in manager_a's team)."""
    return make_lead(
        org_a,
        company={"name": "Drip Drop Plumbing", "phone": "01632 960001", "business_type": "plumber"},
        contact_name="Dana Drip",
        assigned_to=rep_a,
    )


@pytest.fixture
def lead_a2(org_a, rep_a2):
    """rep_a2's lead (outside manager_a's team)."""
    return make_lead(
        org_a,
        company={
            "name": "Sparky Electrics",
            "phone": "01632 960002",
            "business_type": "electrician",
        },
        contact_name="Sam Spark",
        assigned_to=rep_a2,
    )


@pytest.fixture
def lead_b(org_b):
    return make_lead(org_b, company={"name": "Bravo Roofing", "phone": "01632 960003"})


@pytest.fixture
def tag_a(org_a):
    return TagFactory(organization=org_a, name="hot")


@pytest.fixture
def tag_b(org_b):
    return TagFactory(organization=org_b, name="cold")


@pytest.fixture
def interaction_a(org_a, lead_a):
    return InteractionFactory(organization=org_a, lead=lead_a)


@pytest.fixture
def enrichment_a(org_a, lead_a):
    return EnrichmentFactory(organization=org_a, lead=lead_a)
