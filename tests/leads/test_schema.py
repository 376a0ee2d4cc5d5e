"""The leads tables are under RLS, with composite tenant keys and the specified indexes."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag, Tag
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import TagFactory, make_lead

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
        (
            "lead_active_status_score",
            "(organization_id, status, lead_score DESC) WHERE (deleted_at IS NULL)",
        ),
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
    ],
)
def test_specified_indexes_exist(index, definition):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
        row = cursor.fetchone()
    assert row is not None, index
    assert definition in row[0]


WRITTEN_IN_BULK = ["leads_lead", "leads_company", "leads_leadtag"]


def test_every_foreign_key_leads_an_index():
    """Deleting or re-keying a referenced row looks its referencing rows up by the key."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c
            WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
              AND NOT EXISTS (
                SELECT 1 FROM pg_index i
                WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
            """,
            [WRITTEN_IN_BULK],
        )
        assert cursor.fetchall() == []


def test_no_index_is_the_leading_part_of_another():
    """Each index costs every write of its table (bench/README.md, "Writes"): one whose
    columns lead another index of the same rows serves nothing the other does not."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.indexrelid::regclass::text, b.indexrelid::regclass::text
            FROM pg_index a JOIN pg_index b
              ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
            JOIN pg_class ca ON ca.oid = a.indexrelid
            JOIN pg_class cb ON cb.oid = b.indexrelid
            WHERE a.indrelid::regclass::text = ANY(%s)
              AND ca.relam = cb.relam AND NOT a.indisunique
              AND a.indexprs IS NULL AND b.indexprs IS NULL
              AND pg_get_expr(a.indpred, a.indrelid) IS NOT DISTINCT FROM
                  pg_get_expr(b.indpred, b.indrelid)
              AND a.indnkeyatts <= b.indnkeyatts
              AND (a.indkey::int2[])[0:a.indnkeyatts - 1]
                  = (b.indkey::int2[])[0:a.indnkeyatts - 1]
              AND (a.indoption::int2[])[0:a.indnkeyatts - 1]
                  = (b.indoption::int2[])[0:a.indnkeyatts - 1]
            """,
            [WRITTEN_IN_BULK],
        )
        assert cursor.fetchall() == []


@pytest.mark.parametrize(
    "table, looked_up_by",
    [
        ("leads_historicallead", set()),
        ("leads_historicalcompany", set()),
        ("leads_historicalleadtag", {"lead_id"}),  # a subject's data (compliance.subject)
    ],
)
def test_history_tables_index_what_they_are_read_by(table, looked_up_by):
    """By the row's id, by date (retention, versions), by the acting user (whose deletion
    clears it); besides the primary key (organization_id, history_id)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
            [table],
        )
        indexed = {row[0] for row in cursor.fetchall()}
    assert indexed == {"id", "history_date", "history_user_id", *looked_up_by}


def test_the_composite_keys_refuse_a_lead_or_tag_link_of_no_organization(org_a):
    """Their organization is held by their composite keys to their company or lead (leads
    0022)."""
    lead = make_lead(org_a, contact_name="Ann")
    with tenant_context(org_a):
        tag = TagFactory(organization=org_a)
    nowhere = uuid.uuid4()
    writes = [
        # deleted: the dashboard's rollup, which has a key of its own, counts it not
        (
            nowhere,
            "company_id_org_fk",
            lambda: Lead(
                organization_id=nowhere, company_id=lead.company_id, deleted_at=timezone.now()
            ).save(),
        ),
        (
            nowhere,
            "_id_org_fk",
            lambda: LeadTag(organization_id=nowhere, lead=lead, tag=tag).save(),
        ),
    ]
    for organization, key, write in writes:
        with (
            tenant_context(organization),
            pytest.raises(IntegrityError, match=key),
            transaction.atomic(),
        ):
            write()
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_search_vector_is_maintained_by_the_database(org_a):
    from django.contrib.postgres.search import SearchQuery

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
