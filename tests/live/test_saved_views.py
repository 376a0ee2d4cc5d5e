"""Saved views on the live server, in Chromium: a rep filters the lead list, saves it as
a view shared with the team; their manager (same team) finds it in the list's "Views"
box and one click gives the list back with the filter chosen; another organization's
admin neither sees it nor can open it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from accounts.models import User
from savedviews import services
from savedviews.models import SavedView
from smartweb.tenancy.context import tenant_context
from tests.live import pages

LEADS = "/admin/leads/lead/"
NAME = "New leads of the week"


def _selected_filters(browser) -> list[str]:
    return browser.texts("#changelist-filter li.selected a")


def test_a_shared_view_restores_its_filters_for_a_teammate(browser, read):
    browser.login(pages.email_of("rep"))
    browser.open(LEADS)
    browser.click("#changelist-filter a[href*='status__exact=new']")
    assert "status__exact=new" in browser.path
    browser.fill("name", NAME)
    browser.click("#saved-view-shared", navigates=False)
    browser.click("#saved-view-submit")
    assert any(NAME in message for message in browser.messages()), browser.messages()

    with tenant_context(pages.demo_organization()):
        view = SavedView.objects.get(name=NAME)
        assert view.shared and view.query == {"status": ["new"]}
        assert view.owner.email == pages.email_of("rep")

    browser.login(pages.email_of("manager"))
    browser.open(LEADS)
    assert NAME in browser.texts("#saved-views a.saved-view-link")
    browser.click("#saved-views a.saved-view-link[href*='status__exact=new']")
    assert parse_qs(urlsplit(browser.path).query) == {"status__exact": ["new"]}, browser.path
    assert "New" in _selected_filters(browser), _selected_filters(browser)
    shown = browser.texts("#result_list tbody td.field-status")
    assert shown and set(shown) == {"New"}, shown

    browser.login(pages.email_of("admin", "northwind"))
    browser.open(LEADS)
    assert NAME not in browser.texts("#saved-views a.saved-view-link")
    change = reverse("admin:savedviews_savedview_change", args=[view.pk])
    assert browser.status(change) == 404


def test_the_owner_replaces_a_view_from_the_views_box(browser, read):
    """The rep's own view offers "Replace with this list" in the box; the page it opens
    asks first, and "Yes, replace it" gives the list back with the new filter, kept in
    the view. Their manager sees the shared view but no button to overwrite it."""
    rep = pages.email_of("rep")
    name = "Leads to replace"
    with tenant_context(pages.demo_organization()):
        view = services.saved_view_create(
            acting_user=None,
            owner=User.objects.get(email=rep),
            resource="leads",
            name=name,
            query={"status": ["new"]},
            shared=True,
        )
    browser.login(rep)
    browser.open(f"{LEADS}?status__exact=qualified")
    replace = reverse("admin:savedviews_savedview_replace", args=[view.pk])
    browser.click(f"#saved-views form[action='{replace}'] button")
    assert "status = new" in browser.find("#saved-view-before").text
    assert "status = qualified" in browser.find("#saved-view-after").text
    browser.click("#saved-view-replace-confirm")
    assert any(name in message for message in browser.messages()), browser.messages()
    assert parse_qs(urlsplit(browser.path).query) == {"status__exact": ["qualified"]}
    with tenant_context(pages.demo_organization()):
        assert SavedView.objects.get(pk=view.pk).query == {"status": ["qualified"]}

    browser.login(pages.email_of("manager"))
    browser.open(LEADS)
    assert name in browser.texts("#saved-views a.saved-view-link")
    assert not browser.exists(f"#saved-views form[action='{replace}']")
