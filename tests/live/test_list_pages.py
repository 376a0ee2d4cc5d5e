"""An old link to a list's page that no longer exists, in Chromium: the lead list leads to
its last page, marked as the page shown, with a message naming the page asked and the
page shown, and the rows' links lead back to that page; a page that is no number leads
to the first, and says so (smartweb.admin_pages)."""

from __future__ import annotations

import re

import pytest

from tests.live import pages

LEADS = "/admin/leads/lead/"


@pytest.mark.parametrize("role", [*pages.ROLES, "viewer"])
def test_an_old_link_past_the_last_page_leads_to_the_last(browser, role):
    browser.login(pages.email_of(role))
    browser.open(f"{LEADS}?p=9999")
    (said,) = browser.messages()
    shown = re.fullmatch(r"There is no page 9999: showing page (\d+), the last\.", said)
    assert shown, said
    last = shown.group(1)
    assert browser.path == (f"{LEADS}?p={last}" if last != "1" else LEADS)
    rows = browser.result_links()
    assert rows, "the last page lists its rows"
    if last != "1":
        assert browser.texts(".paginator .this-page") == [last]
        assert all(row.endswith(f"?_changelist_filters=p%3D{last}") for row in rows)
    browser.open(f"{LEADS}?p={last}")
    assert browser.messages() == []
    assert browser.result_links() == rows


def test_a_page_that_is_no_number_leads_to_the_first(browser):
    browser.login(pages.email_of("manager"))
    browser.open(LEADS)
    first = browser.result_links()
    browser.open(f"{LEADS}?p=last")
    assert browser.messages() == ["There is no page “last”: showing page 1, the first."]
    assert browser.path == LEADS
    assert browser.result_links() == first
