"""docs/scale.md carries the Citus distribution plan of the migrated schema
(`manage.py citus_plan`), so a table added later fails here until the page is
regenerated; and the plan is in an order Citus takes (ADR 0035)."""

import re
from io import StringIO

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from smartweb.db_bootstrap import with_database
from smartweb.tenancy import citus_plan
from tests.security.pushdown import tenant_tables

PAGE = settings.BASE_DIR / "docs" / "scale.md"
PLAN_BLOCK = re.compile(r"<!-- citus_plan -->\n```sql\n(.*?)```\n", re.DOTALL)
CITUS_TABLE = re.compile(r"create_(reference|distributed)_table\('([^']+)'")
SUB_SELECTS = (
    "SELECT count(*) FROM pg_policy"
    " WHERE polqual::text LIKE '%{SUBLINK%' OR polwithcheck::text LIKE '%{SUBLINK%'"
)


@pytest.mark.django_db
def test_the_page_carries_the_plan_of_the_migrated_schema():
    printed = StringIO()
    call_command("citus_plan", stdout=printed)
    (documented,) = PLAN_BLOCK.findall(PAGE.read_text())
    assert documented == printed.getvalue(), (
        "docs/scale.md differs from `manage.py citus_plan`: paste its output into the page"
    )


@pytest.mark.django_db
def test_each_table_has_one_place_after_the_tables_it_references():
    with connection.cursor() as cursor:
        lines = citus_plan.plan(cursor)
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " AND relkind IN ('r', 'p') AND NOT relispartition"
        )
        tables = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
            " AND conrelid <> confrelid"
        )
        foreign_keys = cursor.fetchall()

    made = [CITUS_TABLE.search(line).groups() for line in lines if CITUS_TABLE.search(line)]
    kept = [line.removeprefix("--   ") for line in lines if line.startswith("--   ")]
    assert sorted([table for _, table in made] + kept) == sorted(tables)
    assert {table for kind, table in made if kind == "distributed"} == tenant_tables()
    assert "audit_logs" in kept and "procrastinate_jobs" in kept
    position = {table: index for index, (_, table) in enumerate(made)}
    for table, target in foreign_keys:
        if table in position:
            assert position.get(target, len(made)) < position[table], (table, target)
    anchor, *colocated = [line for line in lines if "create_distributed_table" in line]
    assert citus_plan.ANCHOR in anchor and "colocate_with => 'none'" in anchor
    assert all(f"colocate_with => '{citus_plan.ANCHOR}'" in line for line in colocated)


def test_the_policies_it_rewrites_run_and_leave_no_sub_select(django_db_setup):
    """Citus refuses a policy holding a sub-select on a Citus table (its check is for any
    sub-link): the plan's ALTER POLICY statements, run as the owner and rolled back."""
    owner_url = with_database(settings.DATABASE_OWNER_URL, connection.settings_dict["NAME"])
    with psycopg.connect(owner_url) as owner, owner.cursor() as cursor:
        cursor.execute("SET lock_timeout = '10s'")
        cursor.execute(SUB_SELECTS)
        (before,) = cursor.fetchone()
        rewrites = [line for line in citus_plan.plan(cursor) if line.startswith("ALTER POLICY")]
        for statement in rewrites:
            cursor.execute(statement)
        cursor.execute(SUB_SELECTS)
        (after,) = cursor.fetchone()
        owner.rollback()
    assert before == len(rewrites) > 0
    assert after == 0
