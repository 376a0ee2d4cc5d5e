"""A list's count is read with its page, in one statement (smartweb.api.pagination): the
same count and pages as counting first, the pages out of range refused as before, under
the organization's policies."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from smartweb.api.pagination import CappedCountPaginator
from tests.crm import factories as crm
from tests.factories import api_client
from tests.leads.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def _listed(client, url: str):
    """The response and the statements that read `url`'s table."""
    table = {"tasks": '"crm_task"', "companies": '"leads_company"'}[url.split("/")[3]]
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response, [q["sql"] for q in captured.captured_queries if table in q["sql"]]


@pytest.fixture
def tasks_of_a(org_a):
    return [crm.task(org_a, title=f"Call back {n}") for n in range(3)]


def test_the_count_and_the_page_are_one_statement(tasks_of_a, org_a, admin_a):
    client = api_client(admin_a, org_a)
    first, statements = _listed(client, "/api/v1/tasks/?page_size=2")
    assert len(statements) == 1 and "count(*)" in statements[0]
    body = first.json()
    assert (body["count"], len(body["results"]), body["previous"]) == (3, 2, None)
    assert "page=2" in body["next"]
    second = client.get("/api/v1/tasks/?page_size=2&page=2").json()
    assert (second["count"], len(second["results"]), second["next"]) == (3, 1, None)
    listed = [row["title"] for row in body["results"] + second["results"]]
    assert sorted(listed) == [f"Call back {n}" for n in range(3)]


@pytest.mark.parametrize("page", ["3", "0", "-1", "two", "1.5", "99999999999", "", "%202"])
def test_a_page_out_of_range_or_not_a_number_is_a_404(tasks_of_a, org_a, admin_a, page):
    response = api_client(admin_a, org_a).get(f"/api/v1/tasks/?page_size=2&page={page}")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid page."


def test_the_last_page_is_found_by_its_count(tasks_of_a, org_a, admin_a):
    body = api_client(admin_a, org_a).get("/api/v1/tasks/?page_size=2&page=last").json()
    assert (body["count"], len(body["results"]), body["next"]) == (3, 1, None)


def test_a_list_that_matches_nothing_counts_zero(tasks_of_a, org_a, admin_a):
    client = api_client(admin_a, org_a)
    body = client.get("/api/v1/tasks/?status=done").json()
    assert (body["count"], body["results"], body["next"]) == (0, [], None)
    assert client.get("/api/v1/tasks/?status=done&page=2").status_code == 404


def test_another_organization_counts_none_of_them(tasks_of_a, org_b, admin_b):
    body = api_client(admin_b, org_b).get("/api/v1/tasks/").json()
    assert (body["count"], body["results"]) == (0, [])


def test_a_capped_count_is_read_with_the_page_and_its_pages_end_at_the_cap(
    org_a, admin_a, monkeypatch
):
    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 2)
    for n in range(3):
        CompanyFactory(organization=org_a, name=f"Roofer {n}")
    client = api_client(admin_a, org_a)
    first, statements = _listed(client, "/api/v1/companies/?page_size=2")
    assert len(statements) == 1
    body = first.json()
    assert (body["count"], body["count_capped"], len(body["results"])) == (2, True, 2)
    assert client.get("/api/v1/companies/?page_size=2&page=2").status_code == 404
