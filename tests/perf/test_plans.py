"""The key queries of the benchmark, as the app runs them, use their intended indexes
under RLS: EXPLAIN (FORMAT JSON) as the runtime role with the organization context set.

The dataset is small, so sequential scans are disabled for the EXPLAIN: the guard asks
"can this query use its index under RLS?", which a plan at 1M leads relies on.
"""

from __future__ import annotations

import importlib
import re

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership
from bench import measure
from bench import run as bench_run
from bench.rows import CITIES
from leads import selectors
from leads.models import Lead
from smartweb import access
from smartweb.tenancy.context import tenant_context
from tests.perf.conftest import owner_url, runtime_url

pytestmark = pytest.mark.django_db
CASES = {case.name: case for case in bench_run.CASES}
# case -> the indexes (or name prefixes, for Django's hashed foreign key indexes) of which
# at least one must appear in the plans of its statements
INTENDED = {
    "rep_leads": {"lead_org_assignee_status", "lead_org_assignee"},
    "org_leads": {"lead_active_status_score"},
    "lead_history": {"interaction_timeline"},
    "org_interactions": {"interaction_org_created"},
    "lead_detail": {"leads_lead_active", "leads_lead_pkey", "leads_lead_org_id_key"},
    # Open tasks by due time: the open ones' own index, the active ones' by due time, or
    # at this size the primary key (organization_id, id) (a few hundred tasks, sorted).
    "org_tasks": {"crm_task_open_due", "crm_task_org_due", "crm_task_pkey"},
    # A stage or pipeline determines the organization (dependency statistics, crm 0006),
    # so at this size the planner may also read the foreign key's own index.
    "pipeline_board": {"crm_opp_board_stage_top", "crm_opportunity_stage_id"},
    # A rep's own deals of each stage, in the board's order (crm 0022).
    "rep_pipeline_board": {"crm_opp_org_owner"},
    # The board's totals and the dashboard read the maintained rollups (crm.rollups), by
    # an organization-first index: their key, or at this size the primary key
    # (organization_id, id), which replaced the organization's own index (crm 0018).
    "board_totals": {"crm_opportunityrollup_key", "crm_opportunityrollup_pkey"},
    # At this size the planner may sort the few open ones read by the other partial index.
    "top_opportunities": {"crm_opp_open_weighted", "crm_opp_open_close_date"},
    "dashboard": {"crm_opportunityrollup_key", "crm_opportunityrollup_pkey"},
    # owned through a parent: the owner's leads or deals by an organization-first index
    "rep_ai_calls": {"lead_org_assignee"},
    "rep_proposals": {"crm_opp_org_owner"},
    "search_companies": set(),
    "search_leads": set(),
    "fuzzy_company": set(),
}
NEVER_SCANNED = {"leads_lead", "leads_interaction", "leads_company", "crm_opportunity"}
SEARCH = importlib.import_module("leads.migrations.0011_search_interactions_and_short_fragments")


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plans(
    statements: list[str], organization: str, user: str, off: tuple[str, ...] = ("seqscan",)
) -> list[dict]:
    """The plans' nodes, with the planner's methods `off` disabled (`enable_<method>`)."""
    plans = []
    with measure.connect(runtime_url()) as conn, conn.transaction(force_rollback=True):
        conn.execute(measure.CONTEXT, [organization, user])
        for method in off:
            conn.execute(f"SET LOCAL enable_{method} = off")
        for statement in statements:
            (result,) = conn.execute("EXPLAIN (FORMAT JSON) " + statement).fetchone()
            plans.extend(_nodes(result[0]["Plan"]))
    return plans


@pytest.mark.parametrize("name", list(INTENDED))
def test_key_query_uses_its_index_under_rls(name, params):
    case = CASES[name]
    client = bench_run.api_clients(params)[case.actor]
    statements = bench_run.captured_sql(
        client, case.path(params), case.tables, case.match, case.exclude
    )
    assert statements, name
    nodes = _plans(statements, str(params["organization"]), str(params[case.actor]))
    scanned = {n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"}
    assert not scanned & NEVER_SCANNED, f"{name}: sequential scan of {scanned & NEVER_SCANNED}"
    used = {n["Index Name"] for n in nodes if "Index Name" in n}
    if INTENDED[name]:
        intended = any(index.startswith(tuple(INTENDED[name])) for index in used)
        assert intended, f"{name}: uses {sorted(used)}"
    else:
        functions = {n.get("Function Name") for n in nodes if n["Node Type"] == "Function Scan"}
        assert functions & {"smartweb_search_companies", "smartweb_search_leads"}, name


# A sync's "what changed since" (docs/decisions/0057): each list by update time, either
# way, alone or after a time, is read in the order of its organization's index by update
# time, under RLS: no sort of the organization's rows (ties only), at any size.
SYNCED = {
    "leads": ("leads_lead", "lead_org_updated"),
    "companies": ("leads_company", "company_org_updated"),
    "opportunities": ("crm_opportunity", "crm_opp_org_updated"),
    "tasks": ("crm_task", "crm_task_org_updated"),
}


def _list_plan(params, path: str, table: str) -> list[dict]:
    client = bench_run.api_clients(params)["admin"]
    statements = bench_run.captured_sql(client, path, (table,))
    assert statements, path
    return _plans(statements, str(params["organization"]), str(params["admin"]))


@pytest.mark.parametrize("since", ["", "&updated_after=2020-01-01T00:00:00Z"])
@pytest.mark.parametrize("ordering", ["updated_at", "-updated_at"])
@pytest.mark.parametrize("resource", list(SYNCED))
def test_a_sync_reads_the_rows_in_index_order_under_rls(resource, ordering, since, params):
    table, index = SYNCED[resource]
    nodes = _list_plan(params, f"/api/v1/{resource}/?ordering={ordering}{since}", table)
    scans = [n for n in nodes if n.get("Relation Name") == table and "Index Name" in n]
    assert any(n["Index Name"] == index for n in scans), [n["Index Name"] for n in scans]
    sorted_by = [key for n in nodes if n["Node Type"] == "Sort" for key in n["Sort Key"]]
    assert not any("updated_at" in key for key in sorted_by), sorted_by


def test_leads_by_company_name_read_the_companies_in_index_order(params):
    """The list states that a live lead's company is live (`ordering_conditions`), so the
    companies are read in name order from their index of live ones, not all sorted."""
    nodes = _list_plan(params, "/api/v1/leads/?ordering=-company__name", "leads_lead")
    used = {n["Index Name"] for n in nodes if n.get("Relation Name") == "leads_company"}
    assert "company_org_name" in used, used
    sorts = [n for n in nodes if n["Node Type"] == "Sort"]
    assert not sorts, [n["Sort Key"] for n in sorts]


def test_a_reps_companies_are_read_by_id_from_their_leads(params):
    """A rep's companies are their leads' (and those they recorded, smartweb.access): the
    leads read from `lead_org_assignee` alone, which carries the company, then each
    company by its id. Or'ed with the recorder, the leads' sub-select was a filter on
    every company of the organization (128,616 read and dropped for the busiest rep of
    the largest at 1M leads). A rep here holds a sixth of the organization's leads, for
    whom a hash join of every company is as cheap: the guard asks whether the companies
    can be looked up by id, as they are at scale."""
    client = bench_run.api_clients(params)["rep"]
    statements = bench_run.captured_sql(client, "/api/v1/companies/", ("leads_company",))
    assert statements
    off = ("seqscan", "hashjoin", "mergejoin")
    nodes = _plans(statements, str(params["organization"]), str(params["rep"]), off)
    leads = [n for n in nodes if n.get("Relation Name") == "leads_lead"]
    assert leads, "the rep's leads are not read"
    for node in leads:
        assert (node["Node Type"], node.get("Index Name")) == (
            "Index Only Scan",
            "lead_org_assignee",
        ), node
    for node in (n for n in nodes if n.get("Relation Name") == "leads_company"):
        looked_up = node.get("Index Cond", "")
        assert "(id = " in looked_up or "created_by_id = " in looked_up, node
        assert "SubPlan" not in node.get("Filter", ""), node


def test_a_teams_companies_are_read_in_name_order(params, monkeypatch):
    """A sales manager's team that holds many of its organization's companies (11,777 of
    13,054 at 100k leads; here the team's few hundred count as many): its page walks the
    organization's companies in name order and keeps the team's, their ids hashed once
    (smartweb.access). As one set of ids, whose size the planner does not see, every
    company of the team was looked up by id and sorted for a page."""
    monkeypatch.setattr(access, "TEAM_WALK_FROM", 100)
    with tenant_context(params["organization"]):
        team = Membership.objects.get(user_id=params["rep"]).team_id
        manager = Membership.objects.get(team_id=team, role__slug="sales_manager").user_id
    actors = {**params, "manager": str(manager)}
    client = bench_run.api_clients(actors, actors=("manager",))["manager"]
    statements = bench_run.captured_sql(client, "/api/v1/companies/", ("leads_company",))
    assert statements
    nodes = _plans(statements, str(params["organization"]), str(manager))
    used = {n.get("Index Name") for n in nodes if n.get("Relation Name") == "leads_company"}
    assert "company_org_name" in used, used
    sorts = [n for n in nodes if n["Node Type"] == "Sort"]
    assert not sorts, [n["Sort Key"] for n in sorts]


# The company list by city or by trade (docs/decisions/0057, amended): either way, read in
# the order of the organization's index of that column, the rest of the order sorted
# within each value (an incremental sort, never a sort of every company); the filters by
# the index too. Sorting disabled as well: at this size a sort of all is as cheap.
BY_CITY_OR_TRADE = {
    "ordering=city": "company_org_city",
    "ordering=-city": "company_org_city",
    "ordering=business_type": "company_org_trade",
    "ordering=-business_type": "company_org_trade",
    f"city={CITIES[0][0].upper()}": "company_org_city",
    "business_type=plumber": "company_org_trade",
}


@pytest.mark.parametrize("query", list(BY_CITY_OR_TRADE))
def test_companies_by_city_or_trade_are_read_by_their_index(query, params):
    client = bench_run.api_clients(params)["admin"]
    statements = bench_run.captured_sql(client, f"/api/v1/companies/?{query}", ("leads_company",))
    assert statements, query
    off = ("seqscan", "sort")
    nodes = _plans(statements, str(params["organization"]), str(params["admin"]), off)
    used = {n["Index Name"] for n in nodes if n.get("Relation Name") == "leads_company"}
    assert BY_CITY_OR_TRADE[query] in used, used
    sorts = [n for n in nodes if n["Node Type"] == "Sort"]
    assert not sorts, [n["Sort Key"] for n in sorts]


KEY_INDEXES = {
    "lead_org_phone",
    "lead_org_email",
    "company_org_phone",
    "company_org_email",
    "company_org_domain",
}


def test_the_duplicate_check_reads_the_key_indexes(params):
    """A create's duplicate check looks each key up in its index (leads.selectors.
    duplicates_query): a filter over the lead and company columns of one join read every
    lead and company of the organization instead."""
    with tenant_context(params["organization"]):
        lead = (
            Lead.objects.select_related("company")
            .exclude(contact_phone_normalized="")
            .exclude(contact_email_normalized="")
            .exclude(company__website_domain="")
            .first()
        )
        with CaptureQueriesContext(connection) as captured:
            found = selectors.duplicates_of(keys=selectors.keys_of(lead))
    assert lead in [duplicate.lead for duplicate in found]
    statements = [query["sql"] for query in captured.captured_queries]
    nodes = _plans(statements, str(params["organization"]), str(params["admin"]))
    used = {n["Index Name"] for n in nodes if "Index Name" in n}
    assert used >= KEY_INDEXES, sorted(used)


COMPANY_TEXT = {"company_org_search", "company_search"}
COMPANY_NAME = {"company_org_name_trgm", "company_name_trgm"}
LEAD_TEXT = {"lead_org_search", "lead_search"}
INTERACTION_TEXT = {"interaction_org_search"}


@pytest.mark.parametrize(
    "query, kinds",
    [
        (SEARCH.COMPANY_QUERY, [COMPANY_TEXT, COMPANY_NAME]),
        (SEARCH.LEAD_QUERY, [LEAD_TEXT, COMPANY_TEXT, COMPANY_NAME]),
        (SEARCH.INTERACTION_QUERY, [INTERACTION_TEXT]),
    ],
)
def test_search_functions_use_the_full_text_and_trigram_indexes(query, kinds, params):
    """The functions' own query (run by their BYPASSRLS owner, so without policies): the
    owner role, FORCE lifted in a rolled-back transaction, stands in for it."""
    sql = query.replace("$1", "%(organization)s").replace("$2", "%(q)s").replace("$3", "%(like)s")
    values = {
        "organization": params["organization"],
        "q": params["term"],
        "like": f"%{params['fragment']}%",
    }
    with (
        psycopg.connect(owner_url(), cursor_factory=psycopg.ClientCursor) as conn,
        conn.transaction(force_rollback=True),
    ):
        for table in ("leads_company", "leads_lead", "leads_interaction"):
            conn.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        conn.execute("SET LOCAL enable_seqscan = off")
        (result,) = conn.execute("EXPLAIN (FORMAT JSON) " + sql, values).fetchone()
    used = {n["Index Name"] for n in _nodes(result[0]["Plan"]) if "Index Name" in n}
    for kind in kinds:
        assert used & kind, sorted(used)


def _canonical(definition: str) -> str:
    """An index definition without casts, parentheses and spaces: PostgreSQL deparses a
    re-parsed predicate with its casts placed differently, the index being the same."""
    return re.sub(r"::[a-z ]+(\[\])?|[()\s]", "", definition)


def test_the_load_recreates_exactly_the_migration_defined_indexes(dataset):
    before = {k: _canonical(v) for k, v in dataset["indexes_before"].items()}
    after = {k: _canonical(v) for k, v in dataset["indexes_after"].items()}
    assert after == before
