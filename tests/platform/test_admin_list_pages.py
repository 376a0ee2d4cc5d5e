"""A list's page that does not exist (`smartweb.admin_pages`): a number past the last shows
the last page, any other (0, below, not a number) the first, each with a message naming
the page asked and the page shown; Django reopened page 1 under `?e=1`, or silently. A page
that exists is shown without a word, and no value of `p` is a server error. Every admin's
list is built so. The tag list holds 5 tags here, 2 a page: pages 1 to 3."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import RequestFactory

from leads.models import Tag
from smartweb.admin_pages import PageShownChangeList, PageShownMixin
from smartweb.tenancy.context import tenant_context
from tests.factories import admin_browser
from tests.leads.factories import TagFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/leads/tag/"


@pytest.fixture
def tags(org_a, monkeypatch):
    monkeypatch.setattr(admin.site.get_model_admin(Tag), "list_per_page", 2)
    with tenant_context(org_a):
        return [TagFactory(organization=org_a, name=f"tag {n}").name for n in range(5)]


def _listed(client, page: str, **query) -> tuple[str, list[str], list[str]]:
    """For `?p=<page>`: the page the list leads to (its query), the tags it shows, and its
    messages."""
    response = client.get(LIST, {**query, "p": page}, follow=True)
    assert response.status_code == 200, f"?p={page} answered {response.status_code}"
    assert len(response.redirect_chain) <= 1
    html = response.content.decode()
    names = re.findall(r'<th class="field-name"><a href="[^"]*">([^<]*)</a>', html)
    shown = response.request["QUERY_STRING"]
    return shown, names, [str(m) for m in response.context["messages"]]


def test_a_page_past_the_last_leads_to_the_last_and_says_so(admin_a, tags):
    client = admin_browser(admin_a)
    assert _listed(client, "9999") == (
        "p=3",
        ["tag 4"],
        ["There is no page 9999: showing page 3, the last."],
    )
    # A number past any count, named in part.
    assert _listed(client, "9" * 40)[2] == [
        f"There is no page {'9' * 19}…: showing page 3, the last."
    ]


def test_the_list_keeps_its_search_and_sorting(admin_a, tags):
    shown, names, said = _listed(admin_browser(admin_a), "50", q="tag", o="-1")
    assert shown == "o=-1&p=3&q=tag"
    assert names == ["tag 0"]
    assert said == ["There is no page 50: showing page 3, the last."]


@pytest.mark.parametrize(
    ("page", "named"),
    [
        ("0", "0"),
        ("-1", "-1"),
        ("abc", "“abc”"),
        ("2.5", "“2.5”"),
        ("", "“”"),
        ("9" * 5000, f"“{'9' * 19}…”"),  # past the digits Python reads as a number
    ],
)
def test_any_other_missing_page_leads_to_the_first_and_says_so(admin_a, tags, page, named):
    assert _listed(admin_browser(admin_a), page) == (
        "",
        ["tag 0", "tag 1"],
        [f"There is no page {named}: showing page 1, the first."],
    )


def test_the_message_is_text_not_markup(admin_a, tags):
    response = admin_browser(admin_a).get(LIST, {"p": "<b>1</b>"}, follow=True)
    assert "There is no page “&lt;b&gt;1&lt;/b&gt;”" in response.content.decode()
    assert b"<b>1</b>" not in response.content


def test_a_page_that_exists_is_shown_without_a_word(admin_a, tags):
    client = admin_browser(admin_a)
    assert _listed(client, "2") == ("p=2", ["tag 2", "tag 3"], [])
    assert _listed(client, "3") == ("p=3", ["tag 4"], [])
    assert _listed(client, "1") == ("p=1", ["tag 0", "tag 1"], [])


def test_a_list_of_one_page_names_it_as_the_last(admin_a, org_a):
    with tenant_context(org_a):
        TagFactory(organization=org_a, name="only")
    assert _listed(admin_browser(admin_a), "7") == (
        "",
        ["only"],
        ["There is no page 7: showing page 1, the last."],
    )


def test_every_admin_list_leads_a_missing_page_so(admin_a):
    """Every registered admin's list (Django's own for users, organizations and jobs)
    builds its page so, and no missing page of a list the admin opens is an error."""
    request = RequestFactory().get("/")
    client = admin_browser(admin_a)
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, PageShownMixin), model
        assert issubclass(model_admin.get_changelist(request), PageShownChangeList), model
        opts = model._meta
        url = f"/admin/{opts.app_label}/{opts.model_name}/"
        for page in ("9999", "x", "0"):
            response = client.get(url, {"p": page}, follow=True)
            assert response.status_code in (200, 403), f"{url}?p={page}"
            assert "e=1" not in response.request["QUERY_STRING"], f"{url}?p={page}"
