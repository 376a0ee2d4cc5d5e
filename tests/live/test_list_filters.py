"""The lists' filters on the live server, in Chromium: the lead list offers the
organization's tags and a click narrows the list to the leads carrying the tag; the
opportunity list's owner filter and the lead list's assignee filter offer their reader
the people whose rows they may read (the rep themselves, the manager their team) and a
click narrows the list to that person's rows."""

from __future__ import annotations

from accounts.models import Membership
from crm.models import Opportunity
from leads.models import Lead, LeadTag, Tag
from smartweb import access
from smartweb.people import person_name
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
    for role in ("rep", "manager"):
        _offers_whom_one_may_read(browser, role, OPPORTUNITIES, "owner", "owner__id__exact")


def test_the_lead_assignee_filter_offers_whom_one_may_read_and_narrows(browser, read):
    """As the deal list's owner filter: a rep is offered themselves, a manager their team,
    not every member of the organization (whose leads they could not list); "Unassigned"
    only to the organization admin, who reads the leads assigned to no one."""
    for role in ("rep", "manager"):
        _offers_whom_one_may_read(browser, role, LEADS, "assigned to", "assignee")
        assert not browser.exists(f"{_filter('assigned to')} a[href*='assignee=none']"), role
    browser.login(pages.email_of("admin"))
    browser.open(LEADS)
    assert browser.exists(f"{_filter('assigned to')} a[href*='assignee=none']")


def _offers_whom_one_may_read(browser, role: str, changelist: str, title: str, parameter: str):
    """The demo `role`'s list at `changelist`: its `title` filter offers the members whose
    rows the role may read, and a click on the first lists that member's rows only."""
    organization = pages.demo_organization()
    model, resource, owner = {
        LEADS: (Lead, Resource.LEADS, "assigned_to_id"),
        OPPORTUNITIES: (Opportunity, Resource.OPPORTUNITIES, "owner_id"),
    }[changelist]
    with tenant_context(organization):
        membership = Membership.objects.select_related("user").get(user__email=pages.email_of(role))
    user = membership.user
    with tenant_context(organization, user=user, membership=membership):
        offered = access.assignable_users(user, Action.READ, resource)
        expected = {person_name(one) for one in offered}
    browser.login(pages.email_of(role))
    browser.open(changelist)
    links = f"{_filter(title)} a[href*='{parameter}=']:not([href*='{parameter}=none'])"
    assert set(browser.texts(links)) == expected, role
    browser.click(links)
    owner_id = browser.path.split(f"{parameter}=")[1].split("&")[0]
    with tenant_context(organization):
        listed = model.objects.filter(**{owner: owner_id}).count()
    rows = browser.texts("#result_list tbody tr")
    assert len(rows) == min(listed, 100), role
