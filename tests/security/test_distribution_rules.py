"""The migrated schema follows the rules of distribution by organization (ADR 0035):
`organization_id` in every key and in every foreign key between tenant tables, no foreign
key from a global table into a tenant table, policies that call only stable, safe
functions. The rules read the catalog, so a table added later is held to them too."""

import dj_database_url
import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Opportunity
from smartweb.tenancy import distribution

pytestmark = pytest.mark.django_db


def test_the_migrated_schema_follows_the_rules():
    with connection.cursor() as cursor:
        assert distribution.violations(cursor) == []


def test_the_operation_has_nothing_left_to_do():
    with connection.cursor() as cursor:
        assert distribution.plan(cursor) == []


def test_primary_keys_lead_with_the_organization():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid IN ('leads_lead'::regclass, 'leads_historicallead'::regclass)"
            " AND contype = 'p' ORDER BY conrelid::regclass::text"
        )
        assert [row[0] for row in cursor.fetchall()] == [
            "PRIMARY KEY (organization_id, history_id)",
            "PRIMARY KEY (organization_id, id)",
        ]


# --- the rules catch what breaks them: temporary tables of this session ------------------

BROKEN = """
CREATE TEMP TABLE parent (organization_id uuid NOT NULL, id int PRIMARY KEY,
                          code text UNIQUE, UNIQUE (organization_id, id));
CREATE TEMP TABLE child (organization_id uuid NOT NULL, id int,
                         parent_id int REFERENCES parent (id), PRIMARY KEY (organization_id, id));
CREATE UNIQUE INDEX child_partial ON child (parent_id) WHERE id > 0;
CREATE TEMP TABLE twin (organization_id uuid NOT NULL, id int,
                        parent_id int REFERENCES parent (id), PRIMARY KEY (organization_id, id),
                        FOREIGN KEY (organization_id, parent_id)
                        REFERENCES parent (organization_id, id));
CREATE FUNCTION pg_temp.any_organization() RETURNS uuid LANGUAGE sql VOLATILE
    AS $$ SELECT gen_random_uuid() $$;
ALTER TABLE parent ENABLE ROW LEVEL SECURITY;
CREATE POLICY chance ON parent USING (organization_id = pg_temp.any_organization());
"""


def _temporary_schema(cursor) -> str:
    cursor.execute("SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()")
    return cursor.fetchone()[0]


def test_the_rules_name_each_violation_and_the_operation_fixes_the_keys():
    with connection.cursor() as cursor:
        cursor.execute(BROKEN)
        schema = _temporary_schema(cursor)
        found = "\n".join(distribution.violations(cursor, schema))
        for expected in (
            "parent: parent_pkey (PRIMARY KEY (id)) lacks organization_id",
            "parent: parent_code_key (UNIQUE (code)) lacks organization_id",
            "child: child_partial",
            "child: child_parent_id_fkey (FOREIGN KEY (parent_id) REFERENCES parent(id))"
            " is not by organization_id",
            "twin: twin_parent_id_fkey",
            "policy chance calls any_organization()",
        ):
            assert expected in found

        for statement in distribution.plan(cursor, schema):
            cursor.execute(statement)
        assert distribution.plan(cursor, schema) == []
        remaining = distribution.violations(cursor, schema)
        assert len(remaining) == 1 and "any_organization" in remaining[0]
        cursor.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE connamespace = pg_my_temp_schema() AND contype IN ('p', 'u', 'f')"
            " ORDER BY 1, 2"
        )
        assert cursor.fetchall() == [
            (
                "child",
                "FOREIGN KEY (organization_id, parent_id) REFERENCES parent(organization_id, id)",
            ),
            ("child", "PRIMARY KEY (organization_id, id)"),
            ("parent", "PRIMARY KEY (organization_id, id)"),
            ("parent", "UNIQUE (organization_id, code)"),
            (
                "twin",
                "FOREIGN KEY (organization_id, parent_id) REFERENCES parent(organization_id, id)",
            ),
            ("twin", "PRIMARY KEY (organization_id, id)"),
        ]


def test_a_global_table_may_not_reference_a_tenant_table():
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE tenant (organization_id uuid NOT NULL, id int,"
            " PRIMARY KEY (organization_id, id));"
            " CREATE TEMP TABLE global (id int PRIMARY KEY, organization_id_ uuid, tenant_id int,"
            " FOREIGN KEY (organization_id_, tenant_id) REFERENCES tenant (organization_id, id))"
        )
        found = distribution.violations(cursor, _temporary_schema(cursor))
    assert [line.split(":")[0] for line in found] == ["global"]
    assert "from a global table into tenant" in found[0]


# --- foreign keys Django adds later ----------------------------------------------------


def _owner_connection():
    owner = dj_database_url.parse(settings.DATABASE_OWNER_URL)
    test = connection.settings_dict
    return psycopg.connect(
        host=test["HOST"],
        port=test["PORT"] or 5432,
        dbname=test["NAME"],
        user=owner["USER"],
        password=owner["PASSWORD"],
    )


def test_a_foreign_key_django_adds_between_tenant_tables_is_by_organization():
    """Django would write `REFERENCES leads_lead (id)`, which no unique key matches now;
    the schema editor writes the composite key (run as the owner, rolled back)."""
    field = Opportunity._meta.get_field("lead")
    with connection.schema_editor(collect_sql=True) as editor:
        statement = str(editor._create_fk_sql(Opportunity, field, "_fk_again"))
        global_key = str(
            editor._create_fk_sql(Opportunity, Opportunity._meta.get_field("owner"), "_fk")
        )
    assert statement.startswith("DO ")
    assert "DO " not in global_key and "(organization_id" not in global_key.replace('"', "")
    with _owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute(statement)
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'crm_opportunity'::regclass AND conname LIKE '%%_fk_again'"
        )
        assert cursor.fetchall() == [
            (
                "FOREIGN KEY (organization_id, lead_id) REFERENCES leads_lead(organization_id, id)"
                " DEFERRABLE INITIALLY DEFERRED",
            )
        ]
        owner.rollback()


# --- the ORM on the wider keys -----------------------------------------------------------


def test_counting_per_row_groups_by_the_whole_primary_key(admin_a, org_a):
    """Django groups by the primary key and reads the row's other columns from it; with
    the key (organization_id, id) the GROUP BY has to name both."""
    from django.db.models import Count

    from leads.models import Company
    from smartweb.tenancy.context import tenant_context
    from tests.leads.factories import make_lead

    with tenant_context(org_a, user=admin_a):
        make_lead(org_a)
        companies = list(Company.objects.annotate(lead_count=Count("lead")))
        sql = str(Company.objects.annotate(lead_count=Count("lead")).query)
    assert [c.lead_count for c in companies] == [1]
    assert 'GROUP BY "leads_company"."id", "leads_company"."organization_id"' in sql


def test_joins_and_related_rows_name_the_organization(admin_a, org_a):
    from leads.models import Lead
    from smartweb.tenancy.context import tenant_context
    from tests.leads.factories import make_lead

    with tenant_context(org_a, user=admin_a):
        lead = make_lead(org_a)
        sql = str(Lead.objects.select_related("company").filter(company__name="x").query)
        assert '"leads_company"."organization_id" = ("leads_lead"."organization_id")' in sql
        fresh = Lead.objects.get(pk=lead.pk)
        with CaptureQueriesContext(connection) as captured:
            assert fresh.company == lead.company
        fetch = next(
            q["sql"] for q in captured.captured_queries if 'FROM "leads_company"' in q["sql"]
        )
        assert '"leads_company"."organization_id" =' in fetch
        with CaptureQueriesContext(connection) as captured:
            fresh.save(update_fields=["notes"])
        update = next(q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE"))
        assert '"leads_lead"."organization_id" =' in update


def test_prefetched_related_rows_and_history_name_the_organization(admin_a, org_a):
    """A page of rows fetches their related rows by `id IN (...)` (prefetch_related) and a
    row's history by its id: both name the organization, and find the same rows."""
    from leads.models import Lead
    from smartweb.tenancy.context import tenant_context
    from tests.leads.factories import make_lead

    with tenant_context(org_a, user=admin_a):
        lead = make_lead(org_a)
        with CaptureQueriesContext(connection) as captured:
            (listed,) = Lead.objects.prefetch_related("company")
        assert listed.company == lead.company
        prefetch = captured.captured_queries[-1]["sql"]
        assert '"leads_company"."organization_id" IN' in prefetch
        # Rows read without their organization are not loaded again one by one for it.
        with CaptureQueriesContext(connection) as captured:
            (listed,) = Lead.objects.only("id", "company").prefetch_related("company")
            assert listed.company == lead.company
        assert len(captured.captured_queries) == 2
        for history in (lead.history.all(), Lead.history.filter(id=lead.pk)):
            assert [row.history_type for row in history] == ["+"]
            assert '"leads_historicallead"."organization_id" =' in str(history.query)


def test_partitioned_tables_follow_their_parent():
    """A partitioned table (by its time column) gets the organization in its keys; its
    partitions follow it and are not checked on their own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE events (organization_id uuid NOT NULL, id int,"
            " at timestamptz NOT NULL, code text, PRIMARY KEY (id, at))"
            " PARTITION BY RANGE (at);"
            " CREATE UNIQUE INDEX events_code ON events (code, at);"
            " CREATE TEMP TABLE events_2026 PARTITION OF events"
            " FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')"
        )
        schema = _temporary_schema(cursor)
        found = distribution.violations(cursor, schema)
        assert [line.split(":")[0] for line in found] == ["events", "events"]
        for statement in distribution.plan(cursor, schema):
            cursor.execute(statement)
        assert distribution.violations(cursor, schema) == []
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indrelid"
            " WHERE c.relnamespace = pg_my_temp_schema() AND i.indisunique ORDER BY 1, 2"
        )
        definitions = [(table, d.split(" USING ")[1]) for table, d in cursor.fetchall()]
    assert definitions == [
        ("events", "btree (organization_id, code, at)"),
        ("events", "btree (organization_id, id, at)"),
        ("events_2026", "btree (organization_id, code, at)"),
        ("events_2026", "btree (organization_id, id, at)"),
    ]
