"""The Action box of the lead list in the browser, per demo role: each role is offered
exactly the bulk actions it may use, the read-only user none that change data, and an
action the box does not offer, posted anyway by the read-only user, changes nothing.
A lead each role may change is saved unchanged from its page."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User
from leads.choices import LeadStatus
from leads.models import Lead, LeadTag, Tag
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

LEADS = reverse("admin:leads_lead_changelist")
# A rep's own leads: no deletion (their role has none) and no data-subject request.
REP_ACTIONS = {
    "assign_selected",
    "tag_selected",
    "change_status_selected",
    "rescore_selected",
    "export_csv",
}
OFFERED = {
    "admin": REP_ACTIONS
    | {"delete_selected", "restore_selected", "export_subject_data", "erase_subject_data"},
    # Deletes their team's leads, and restores them; no compliance right.
    "manager": REP_ACTIONS | {"delete_selected", "restore_selected"},
    "rep": REP_ACTIONS,
    # Reads: the export of the list, nothing that changes a row.
    "viewer": {"export_csv"},
}


def _offered(browser) -> set[str]:
    if not browser.exists("select[name='action']"):
        return set()
    return set(browser.options("action"))


@pytest.mark.parametrize("role", sorted(OFFERED))
def test_each_role_is_offered_exactly_its_lead_actions(browser, read, role):
    browser.login(pages.email_of(role))
    browser.open(LEADS)
    assert browser.values("input.action-select"), f"the {role} sees no lead"
    assert _offered(browser) == OFFERED[role]


@pytest.mark.parametrize(
    "action", ["change_status_selected", "assign_selected", "tag_selected", "delete_selected"]
)
def test_an_action_posted_by_the_read_only_user_changes_nothing(browser, read, action):
    organization = pages.demo_organization()
    rep = User.objects.get(email=pages.email_of("rep"))
    viewer = User.objects.get(email=pages.email_of("viewer"))
    lead = crm_factories.lead(organization, assigned_to=rep)
    with tenant_context(organization):
        tag = Tag.objects.order_by("name").first()
    browser.login(viewer.email)
    session = browser.session()
    response = session.post(
        browser.base_url + LEADS,
        data={
            "action": action,
            "_selected_action": [str(lead.pk)],
            "index": "0",
            "apply": "1",
            "post": "yes",
            "status": LeadStatus.CONTACTED,
            "assigned_to": str(viewer.pk),
            "tag": str(tag.pk),
            "csrfmiddlewaretoken": session.cookies.get("csrftoken"),
        },
        headers={"Referer": browser.base_url + LEADS},
        timeout=60,
    )
    # Refused as Django refuses an action the box does not offer, back on the list.
    assert response.status_code == 200 and "No action selected." in response.text
    with tenant_context(organization):
        stored = Lead.all_objects.get(pk=lead.pk)
        assert (stored.status, stored.assigned_to_id, stored.deleted_at) == (
            lead.status,
            rep.pk,
            None,
        )
        assert not LeadTag.objects.filter(lead=lead).exists()


@pytest.mark.parametrize("role", ["admin", "manager", "rep"])
def test_a_lead_saved_unchanged_from_the_list(browser, read, role):
    rep = User.objects.get(email=pages.email_of("rep"))
    lead = crm_factories.lead(pages.demo_organization(), assigned_to=rep)
    browser.login(pages.email_of(role))
    browser.open(f"{LEADS}?q={lead.company.name.replace(' ', '+')}")
    page = reverse("admin:leads_lead_change", args=[lead.pk])
    links = [link for link in browser.result_links() if link.split("?")[0] == page]
    assert links, f"the {role} does not find the lead in the list"
    browser.open(links[0])
    pages.save_unchanged(browser, admin.site.get_model_admin(Lead), lead.pk)
