"""The CRM tables are under RLS with composite tenant keys; the specified indexes exist
and the queries they are for use them; weighted_value is a generated column."""

from decimal import Decimal

import pytest
from django.db import connection

from crm.models import (
    AICall,
    AICallWebhookSecret,
    Campaign,
    Contract,
    Opportunity,
    Pipeline,
    PipelineStage,
    Proposal,
    ProposalLineItem,
    Task,
)
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.crm.conftest import owner_connection

db = pytest.mark.django_db

HISTORY_MODELS = [
    Pipeline,
    PipelineStage,
    Opportunity,
    Proposal,
    ProposalLineItem,
    Contract,
    Campaign,
    AICall,
    Task,
]


def _tables():
    tables = [AICallWebhookSecret._meta.db_table]
    for model in HISTORY_MODELS:
        tables += [model._meta.db_table, model.history.model._meta.db_table]
    return tables


@db
def test_every_crm_table_forces_row_level_security():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s)"
            " AND relrowsecurity AND relforcerowsecurity",
            [_tables()],
        )
        assert {row[0] for row in cursor.fetchall()} == set(_tables())


@db
def test_references_between_tenant_tables_are_composite():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conname LIKE 'crm_%%_org_fk'"
        )
        names = {row[0] for row in cursor.fetchall()}
    for expected in (
        "crm_opportunity_lead_id_org_fk",
        "crm_opportunity_stage_id_org_fk",
        "crm_aicall_lead_id_org_fk",
        "crm_aicall_interaction_id_org_fk",
        "crm_task_opportunity_id_org_fk",
        "crm_contract_proposal_id_org_fk",
    ):
        assert expected in names


@db
@pytest.mark.parametrize(
    "index, definition",
    [
        ("crm_opp_org_weighted", "(organization_id, weighted_value DESC)"),
        (
            "crm_opp_board_stage_top",
            "(organization_id, pipeline_id, stage_id, weighted_value DESC, created_at DESC)"
            " INCLUDE (id, owner_id, currency, value) WHERE (deleted_at IS NULL)",
        ),
        ("crm_task_org_assignee", "(organization_id, assigned_to_id, status, due_at)"),
        ("crm_opp_open_close_date", "((status)::text = 'open'::text)"),
        ("crm_opportunity_active", "WHERE (deleted_at IS NULL)"),
        ("crm_task_open_due", "(organization_id, due_at) WHERE"),
    ],
)
def test_specified_indexes_exist(index, definition):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
        row = cursor.fetchone()
    assert row is not None, index
    assert definition in row[0]


@db
def test_every_foreign_key_has_an_index():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1
              AND c.conrelid::regclass::text LIKE 'crm\\_%%'
              AND NOT EXISTS (
                SELECT 1 FROM pg_index i
                WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
            """
        )
        assert cursor.fetchall() == []


@db
def test_weighted_value_is_generated_by_the_database(org_a, opp_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT is_generated, generation_expression FROM information_schema.columns"
            " WHERE table_name = 'crm_opportunity' AND column_name = 'weighted_value'"
        )
        generated, expression = cursor.fetchone()
    assert generated == "ALWAYS" and "probability" in expression
    with tenant_context(org_a):
        Opportunity.objects.filter(pk=opp_a.pk).update(value=Decimal("999.99"))
        assert Opportunity.objects.get(pk=opp_a.pk).weighted_value == Decimal("100.00")


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


# Deals spread over the pipeline's stages (closed ones: a lead has one open deal at most).
BULK_DEALS = """
INSERT INTO crm_opportunity (id, created_at, updated_at, organization_id, lead_id, pipeline_id,
    stage_id, name, value, currency, probability, status, lost_reason, closed_at)
SELECT gen_random_uuid(), now(), now(), %(organization)s, %(lead)s, %(pipeline)s,
    (%(stages)s::uuid[])[1 + n %% cardinality(%(stages)s::uuid[])],
    'Deal ' || n, n, 'EUR', 50, 'won', '', now()
FROM generate_series(1, 20000) AS n
"""

# A rep with a long history of done tasks; colleagues with many tasks, a few open.
BULK_TASKS = """
INSERT INTO crm_task (id, created_at, updated_at, organization_id, title, description, type,
    priority, status, due_at, assigned_to_id, completed_at)
SELECT gen_random_uuid(), now(), now(), %(organization)s, 'Task ' || n, '', 'todo', 'normal',
    CASE WHEN n %% 20 = 1 THEN 'open' ELSE 'done' END, now() + n * interval '1 hour',
    CASE WHEN n %% 4 = 0 THEN %(rep)s ELSE %(colleague)s END,
    CASE WHEN n %% 20 = 1 THEN NULL ELSE now() END
FROM generate_series(1, 40000) AS n
"""


@pytest.fixture
def analyzed_org(live_org):
    """A committed organization with 20,000 deals over its pipeline's stages and 40,000
    tasks (a rep's one open task among their 10,000 done ones), analyzed by the owner: the
    planner then weighs the indexes on real statistics."""
    organization, admin, rep = live_org
    deal = factories.opportunity(organization, owner=rep)
    factories.task(organization, assigned_to=rep)
    with tenant_context(organization), connection.cursor() as cursor:
        stages = [str(pk) for pk in PipelineStage.objects.values_list("pk", flat=True)]
        cursor.execute(
            BULK_DEALS,
            {
                "organization": organization.pk,
                "lead": deal.lead_id,
                "pipeline": deal.pipeline_id,
                "stages": stages,
            },
        )
        cursor.execute(
            BULK_TASKS, {"organization": organization.pk, "rep": rep.pk, "colleague": admin.pk}
        )
    with owner_connection() as owner:
        owner.execute("ANALYZE crm_opportunity")
        owner.execute("ANALYZE crm_task")
    return organization, deal, rep


def test_the_biggest_deals_query_uses_the_weighted_value_index(analyzed_org):
    organization, _, _ = analyzed_org
    with tenant_context(organization):
        plan = _plan(Opportunity.objects.order_by("-weighted_value")[:10])
    assert "crm_opp_org_weighted" in plan


def test_the_board_query_uses_the_board_index(analyzed_org):
    organization, deal, _ = analyzed_org
    with tenant_context(organization):
        plan = _plan(
            Opportunity.objects.filter(
                pipeline_id=deal.pipeline_id, stage_id=deal.stage_id
            ).order_by("-weighted_value", "-created_at")[:50]
        )
    assert "crm_opp_board_stage_top" in plan


def test_my_open_tasks_query_uses_the_assignee_index(analyzed_org):
    organization, _, rep = analyzed_org
    with tenant_context(organization):
        plan = _plan(Task.objects.open().filter(assigned_to=rep).order_by("due_at"))
    assert "crm_task_org_assignee" in plan
