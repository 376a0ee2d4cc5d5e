"""The search functions run with a BYPASSRLS owner, so they carry their own isolation:
they read the organization from the context only, return nothing without one, and never
another organization's rows (docs/decisions/0004-search-under-rls.md)."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from leads.models import Interaction
from leads.search import (
    COMPANIES_CONTAINING_FUNCTION,
    COMPANY_FUNCTION,
    INTERACTION_FUNCTION,
    INTERACTION_MATCHES_LISTED,
    LEAD_FUNCTION,
    LEADS_CONTAINING_FUNCTION,
    SIMILAR_COMPANY_FUNCTION,
)
from smartweb import db_bootstrap
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client
from tests.leads.factories import InteractionFactory, LeadFactory

pytestmark = pytest.mark.django_db
SEARCH = importlib.import_module("leads.migrations.0004_search_functions")
FUNCTIONS = [
    COMPANY_FUNCTION,
    LEAD_FUNCTION,
    INTERACTION_FUNCTION,
    SIMILAR_COMPANY_FUNCTION,
    COMPANIES_CONTAINING_FUNCTION,
    LEADS_CONTAINING_FUNCTION,
]


@pytest.fixture
def twins(org_a, org_b):
    """The same business name, city, contact and call notes in two organizations."""
    leads = {}
    for org in (org_a, org_b):
        leads[org.pk] = LeadFactory(
            organization=org,
            contact_name="Robin Ashbrook",
            company__name="Ashbrook Plumbing Ltd",
            company__organization=org,
        )
        InteractionFactory(
            organization=org,
            lead=leads[org.pk],
            subject="Boiler quote",
            content="Asked for a quote on the boiler service",
        )
    return leads


def _ids(function: str, text: str) -> set:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {function}(%s)", [text])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize(
    "function, text",
    [
        (COMPANY_FUNCTION, "Ashbrook"),
        (LEAD_FUNCTION, "Ashbrook"),
        (INTERACTION_FUNCTION, "boiler"),
        (COMPANIES_CONTAINING_FUNCTION, "shbroo"),
        (LEADS_CONTAINING_FUNCTION, "shbroo"),
    ],
)
def test_without_an_organization_nothing_is_found(twins, function, text):
    assert _ids(function, text) == set()


WORDS = (LEAD_FUNCTION, COMPANY_FUNCTION)
SUBSTRINGS = (LEADS_CONTAINING_FUNCTION, COMPANIES_CONTAINING_FUNCTION)


@pytest.mark.parametrize(
    "functions, text, of_company",
    [
        (WORDS, "Ashbrook", True),
        (WORDS, "ashbrook plumbing", True),
        (WORDS, "shbroo", True),
        (WORDS, "Robin", False),  # a contact name is the lead's, not the company's
        (SUBSTRINGS, "shbroo", True),
        (SUBSTRINGS, "ASHBROOK PLUMB", True),
        (SUBSTRINGS, "obin Ash", False),
    ],
)
def test_an_organization_finds_only_its_own_rows(twins, org_a, org_b, functions, text, of_company):
    lead_function, company_function = functions
    for org, other in ((org_a, org_b), (org_b, org_a)):
        mine, theirs = twins[org.pk], twins[other.pk]
        with tenant_context(org):
            leads = _ids(lead_function, text)
            companies = _ids(company_function, text)
        assert leads == {mine.pk}
        assert companies == ({mine.company_id} if of_company else set())
        assert theirs.pk not in leads and theirs.company_id not in companies


def test_an_organization_finds_only_its_own_interactions(twins, org_a, org_b):
    for org in (org_a, org_b):
        with tenant_context(org):
            mine = set(twins[org.pk].interactions.values_list("pk", flat=True))
            assert len(mine) == 1
            assert _ids(INTERACTION_FUNCTION, "boiler quote") == mine
            assert _ids(INTERACTION_FUNCTION, "Ashbrook") == set()


def test_a_common_word_is_searched_in_the_list_itself(org_a, admin_a):
    """Past INTERACTION_MATCHES_LISTED matches the function stops collecting, and the
    list filters by the words: the newest matches first, on every page, none left out."""
    lead = LeadFactory(organization=org_a, company__organization=org_a)
    start = timezone.now() - dt.timedelta(days=30)
    count = INTERACTION_MATCHES_LISTED + 5
    with tenant_context(org_a):
        Interaction.objects.bulk_create(
            Interaction(
                organization=org_a,
                lead=lead,
                type="note",
                subject=f"Boiler visit {n}",
                occurred_at=start,
                created_at=start + dt.timedelta(minutes=n),
            )
            for n in range(count)
        )
        assert len(_ids(INTERACTION_FUNCTION, "boiler")) == INTERACTION_MATCHES_LISTED + 1
    client = api_client(admin_a, org_a)
    url, seen = "/api/v1/interactions/?search=boiler&page_size=200", []
    while url:
        page = client.get(url).json()
        seen += [row["subject"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == count
    assert seen[0] == f"Boiler visit {count - 1}"


def test_a_name_matches_by_substring_from_three_characters_on(twins, org_a):
    short = LeadFactory(organization=org_a, company__name="Al Heating", company__organization=org_a)
    with tenant_context(org_a):
        ashbrook = twins[org_a.pk].company_id
        assert _ids(COMPANY_FUNCTION, "shb") == {ashbrook}
        assert _ids(COMPANY_FUNCTION, "sh") == set()  # no substring below three characters
        assert _ids(COMPANY_FUNCTION, "Al") == {short.company_id}  # a whole word still
        assert _ids(LEAD_FUNCTION, "sh") == set()
        assert _ids(LEAD_FUNCTION, "shb") == {twins[org_a.pk].pk}


def test_a_misspelt_name_finds_the_organization_s_own_company(twins, org_a, org_b):
    with tenant_context(org_a):
        assert _ids(SIMILAR_COMPANY_FUNCTION, "Ashbrok Plumbing") == {twins[org_a.pk].company_id}
        assert _ids(SIMILAR_COMPANY_FUNCTION, "As") == set()  # no trigram below three
    assert _ids(SIMILAR_COMPANY_FUNCTION, "Ashbrook") == set()  # no organization


def test_like_wildcards_in_the_search_text_are_literal(twins, org_a):
    with tenant_context(org_a):
        assert _ids(COMPANY_FUNCTION, "%") == set()
        assert _ids(COMPANY_FUNCTION, "Ash_rook") == set()


def test_the_api_search_returns_only_the_callers_rows(twins, org_a, admin_a):
    client = api_client(admin_a, org_a)
    mine = twins[org_a.pk]
    with tenant_context(org_a):
        call = mine.interactions.get()
    expected = {
        "/api/v1/companies/?search=Ashbrook": mine.company_id,
        "/api/v1/leads/?search=shbroo": mine.pk,
        "/api/v1/interactions/?search=boiler": call.pk,
    }
    for path, pk in expected.items():
        response = client.get(path)
        assert response.status_code == 200
        assert {row["id"] for row in response.json()["results"]} == {str(pk)}


def test_functions_are_definer_owned_by_the_search_role_with_a_pinned_path():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, proowner::regrole::text, prosecdef, proconfig, pronargs"
            " FROM pg_proc WHERE proname = ANY(%s)",
            [FUNCTIONS],
        )
        rows = cursor.fetchall()
    assert len(rows) == len(FUNCTIONS)
    for _, owner, definer, config, arguments in rows:
        assert owner == db_bootstrap.SEARCH_ROLE
        assert definer
        assert config == ["search_path=pg_catalog, public, pg_temp"]
        assert arguments == 1  # the search text only: never an organization


def test_the_search_role_cannot_log_in_and_the_runtime_role_cannot_become_it():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolcanlogin, rolbypassrls, pg_has_role(%s, rolname, 'MEMBER')"
            " FROM pg_roles WHERE rolname = %s",
            [settings.DATABASE_RUNTIME_ROLE, db_bootstrap.SEARCH_ROLE],
        )
        can_login, bypass, runtime_is_member = cursor.fetchone()
    assert (can_login, bypass, runtime_is_member) == (False, True, False)


def test_the_migration_fails_clearly_without_the_search_role(monkeypatch):
    monkeypatch.setattr(SEARCH, "SEARCH_ROLE", "smartweb_no_such_role")
    editor = SimpleNamespace(connection=connection)
    with pytest.raises(RuntimeError, match="python -m smartweb.db_bootstrap"):
        SEARCH.create_functions(None, editor)
