"""The lists' filters on the live server, in Chromium: the lead list offers the
organization's tags and a click narrows the list to the leads carrying the tag; the
opportunity list offers its reader the owners whose deals they may read (the rep
themselves, the manager their team) and a click narrows it to that owner's deals."""

from __future__ import annotations

from accounts.models import Membership
from crm.models import Opportunity
from leads.models import Tag
from smartweb import access
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import tenant_context
from tests.live import pages

LEADS = "/admin/leads/lead/"
OPPORTUNITIES = "/admin/crm/opportunity/"


def _filter(title: str) -> str:
    return f"#changelist-filter details[data-filter-title='{title}']"


def test_the_tag_filter_offers_the_organizations_tags_and_narrows(browser, read):
    with tenant_context(pages.demo_organization()):
        tags = set(Tag.objects.values_list("name", flat=True))
    browser.login(pages.email_of("rep"))
    browser.open(LEADS)
    offered = browser.texts(f"{_filter('tags')} a[href*='tags__id__exact=']")
    assert set(offered) == tags
    chosen = offered[0]
    browser.click(f"{_filter('tags')} a[href*='tags__id__exact=']")
    assert "tags__id__exact=" in browser.path
    shown = browser.texts("#result_list td.field-tag_list")
    assert shown and all(chosen in cell.split(", ") for cell in shown), (chosen, shown)


def test_the_owner_filter_offers_whom_one_may_read_and_narrows(browser, read):
    organization = pages.demo_organization()
    for role in ("rep", "manager"):
        with tenant_context(organization):
            membership = Membership.objects.select_related("user").get(
                user__email=pages.email_of(role)
            )
        user = membership.user
        with tenant_context(organization, user=user, membership=membership):
            readable = access.assignable_users(user, Action.READ, Resource.OPPORTUNITIES)
            expected = {str(one) for one in readable}
        browser.login(pages.email_of(role))
        browser.open(OPPORTUNITIES)
        links = f"{_filter('owner')} a[href*='owner__id__exact=']"
        assert set(browser.texts(links)) == expected, role
        browser.click(links)
        owner_id = browser.path.split("owner__id__exact=")[1].split("&")[0]
        with tenant_context(organization):
            listed = Opportunity.objects.filter(owner_id=owner_id).count()
        rows = browser.texts("#result_list tbody tr")
        assert len(rows) == min(listed, 100), role
