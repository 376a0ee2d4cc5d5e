"""The lists' filters on the live server, in Chromium: the lead list offers the
organization's tags and a click narrows the list to the leads carrying the tag; the
opportunity list offers its reader the owners whose deals they may read (the rep
themselves, the manager their team) and a click narrows it to that owner's deals."""

from __future__ import annotations

from accounts.models import Membership
from crm.models import Opportunity
from leads.models import Lead, LeadTag, Tag
from smartweb import access
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import tenant_context
from tests.live import pages

LEADS = "/admin/leads/lead/"
OPPORTUNITIES = "/admin/crm/opportunity/"


def _filter(title: str) -> str:
    return f"#changelist-filter details[data-filter-title='{title}']"


def test_the_tag_filter_offers_the_organizations_tags_and_narrows(browser, read):
    """Other tests may have added tags that no lead of the rep carries: the one clicked is
    a tag of the rep's leads, and the list then holds exactly the rep's leads with it."""
    rep = pages.email_of("rep")
    with tenant_context(pages.demo_organization()):
        tags = set(Tag.objects.values_list("name", flat=True))
        link = (
            LeadTag.objects.filter(
                lead__assigned_to__email=rep,
                lead__deleted_at__isnull=True,
                tag__deleted_at__isnull=True,
            )
            .select_related("tag")
            .first()
        )
        carrying = Lead.objects.filter(assigned_to__email=rep, tags=link.tag).count()
    assert carrying > 0
    browser.login(rep)
    browser.open(LEADS)
    assert set(browser.texts(f"{_filter('tags')} a[href*='tags__id__exact=']")) == tags
    browser.click(f"{_filter('tags')} a[href*='tags__id__exact={link.tag_id}']")
    assert f"tags__id__exact={link.tag_id}" in browser.path
    shown = browser.texts("#result_list td.field-tag_list")
    assert len(shown) == min(carrying, 100)
    assert all(link.tag.name in cell.split(", ") for cell in shown), (link.tag.name, shown)


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
