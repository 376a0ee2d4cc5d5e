"""The interaction list counted up to a cap, as the API's long lists are
(`smartweb.admin_counts`): past the cap it says "at least" ("3+ interactions", "3+
results", "Select all 3+ interactions") and reads no more rows to count than one past it;
below, the count is exact. Every row is still listed, on the same pages: a page that
reaches past the cap is counted exactly. Here the cap is 3, a page holds 2 rows and "Show
all" lists at most 2 (at 10,000, 100 and 200 in use)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Interaction
from smartweb.api.pagination import CappedCountPaginator
from tests.factories import admin_browser
from tests.leads.factories import InteractionFactory, LeadFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/leads/interaction/"


@pytest.fixture(autouse=True)
def small_cap(monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 3)
    interactions = admin.site._registry[Interaction]
    monkeypatch.setattr(interactions, "list_per_page", 2)
    monkeypatch.setattr(interactions, "list_max_show_all", 2)


@pytest.fixture
def calls(org_a, org_b, rep_a, rep_a2):
    """Five calls on a lead of the rep, one on the other rep's, newest first; and five
    in org B."""
    start = timezone.now() - dt.timedelta(days=1)
    made = {}
    for organization in (org_a, org_b):
        lead = LeadFactory(
            organization=organization, assigned_to=rep_a if organization == org_a else None
        )
        made[organization.slug] = [
            str(
                InteractionFactory(
                    organization=organization, lead=lead, occurred_at=start - dt.timedelta(hours=n)
                ).pk
            )
            for n in range(5)
        ]
    other = LeadFactory(organization=org_a, assigned_to=rep_a2)
    made["other rep"] = [str(InteractionFactory(organization=org_a, lead=other).pk)]
    return made


# Where the list says how many rows it has: its page links and count, the search box's
# count, and the "select all" of its actions.
COUNTS = {
    "pages": r'<p class="paginator">(.*?)</p>',
    "results": r'<span class="small quiet">(.*?)</span>',
    "select all": r'<span class="question hidden">(.*?)</span>',
    "selected": r'<span class="all hidden">(.*?)</span>',
}


def _page(browser, query: str = "") -> tuple[list[str], dict[str, str]]:
    """The rows listed (ids), and the texts of the page that say how many there are."""
    response = browser.get(LIST + query)
    assert response.status_code == 200
    html = response.content.decode()
    ids = list(dict.fromkeys(re.findall(rf'href="{LIST}([0-9a-f-]{{36}})/change/', html)))
    texts = {}
    for name, pattern in COUNTS.items():
        found = re.search(pattern, html, re.S)
        if found:
            texts[name] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()
    return ids, texts


def test_past_the_cap_the_list_says_at_least_that_many(calls, admin_a):
    browser = admin_browser(admin_a)
    ids, counts = _page(browser)
    assert ids == [*calls["other rep"], *calls["acme"][:1]]
    assert counts == {
        "pages": "1 2 3+ interactions",
        "results": "3+ results (Show all)",
        "select all": "Select all 3+ interactions",
        "selected": "All 3+ selected",
    }


def test_a_rep_past_the_cap_reads_their_own_and_says_at_least_that_many(calls, rep_a):
    ids, counts = _page(admin_browser(rep_a))
    assert ids == calls["acme"][:2]
    assert counts["pages"] == "1 2 3+ interactions"


def test_below_the_cap_the_count_is_exact(calls, rep_a2):
    ids, counts = _page(admin_browser(rep_a2))
    assert ids == calls["other rep"]
    assert counts == {"pages": "1 interaction", "results": "1 result (Show all)"}


def test_the_count_reads_one_row_past_the_cap_at_most(calls, admin_a):
    browser = admin_browser(admin_a)
    with CaptureQueriesContext(connection) as captured:
        browser.get(LIST)
    counts = [
        q["sql"] for q in captured if "COUNT(" in q["sql"] and "leads_interaction" in q["sql"]
    ]
    assert len(counts) == 1 and counts[0].endswith("LIMIT 4) subquery"), counts


def test_every_row_is_listed_once_a_page_past_the_cap_counted_exactly(calls, admin_a):
    browser = admin_browser(admin_a)
    pages = [_page(browser, f"?p={number}") for number in (1, 2, 3)]
    listed = [pk for ids, _ in pages for pk in ids]
    assert listed == [*calls["other rep"], *calls["acme"]]
    assert [texts["pages"] for _, texts in pages] == [
        "1 2 3+ interactions",
        "1 2 3 6 interactions",
        "1 2 3 6 interactions",
    ]
