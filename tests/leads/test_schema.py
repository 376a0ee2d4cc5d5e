"""The leads tables are under RLS, with composite tenant keys and the specified indexes."""

import pytest
from django.db import connection

from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag, Tag

pytestmark = pytest.mark.django_db

MODELS = [Company, Lead, Interaction, LeadEnrichment, Tag, LeadTag]


def _tables():
    tables = []
    for model in MODELS:
        tables.append(model._meta.db_table)
        tables.append(model.history.model._meta.db_table)
    return tables


def test_every_leads_table_forces_row_level_security():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s)"
            " AND relrowsecurity AND relforcerowsecurity",
            [_tables()],
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert protected == set(_tables())


def test_foreign_keys_between_tenant_tables_are_composite():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint"
            " WHERE contype = 'f' AND conname LIKE %s",
            ["%_org_fk"],
        )
        composite = {(table, name) for table, name in cursor.fetchall()}
    tables = {table for table, _ in composite}
    assert {"leads_lead", "leads_interaction", "leads_leadtag", "leads_leadenrichment"} <= tables
    assert ("leads_lead", "leads_lead_company_id_org_fk") in composite


@pytest.mark.parametrize(
    "index, definition",
    [
        ("lead_org_status_score", "(organization_id, status, lead_score DESC)"),
        ("interaction_lead_type_created", "(organization_id, lead_id, type, created_at DESC)"),
        ("interaction_created_brin", "USING brin (created_at)"),
        ("company_org_name_trgm", "USING gin (organization_id, name gin_trgm_ops)"),
        ("company_org_search", "USING gin (organization_id, search_vector)"),
        ("lead_org_search", "USING gin (organization_id, search_vector)"),
        ("interaction_org_search", "USING gin (organization_id, search_vector)"),
        (
            "interaction_org_created",
            "(organization_id, created_at DESC) WHERE (deleted_at IS NULL)",
        ),
        ("lead_active_status_score", "WHERE (deleted_at IS NULL)"),
    ],
)
def test_specified_indexes_exist(index, definition):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
        row = cursor.fetchone()
    assert row is not None, index
    assert definition in row[0]


def test_search_vector_is_maintained_by_the_database(org_a):
    from django.contrib.postgres.search import SearchQuery

    from smartweb.tenancy.context import tenant_context

    with tenant_context(org_a):
        company = Company.objects.create(name="Drip Drop Plumbing", city="Leeds")
        lead = Lead.objects.create(company=company, contact_name="Ann Smith")
        assert (
            Company.objects.filter(search_vector=SearchQuery("plumbing", config="simple")).get()
            == company
        )
        assert (
            Lead.objects.filter(search_vector=SearchQuery("smith", config="simple")).get() == lead
        )
        assert lead.history.count() == 1
