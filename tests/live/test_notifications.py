"""Notifications in the browser, on the live server (outside any test transaction): the
header's unread badge on a rep's pages, the Notifications page with their own only, each
linked to its record, and Mark read lowering the badge. The other organization's rep
sees none of it."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import User
from leads import services as lead_services
from leads.models import Lead
from notifications.choices import NotificationKind
from notifications.models import Notification
from smartweb.tenancy.context import tenant_context
from tests.factories import acting_as
from tests.live import pages

PAGE = reverse("admin:notifications")


def _badge(browser) -> int:
    return (
        int(browser.find("#notifications-badge").text)
        if browser.exists("#notifications-badge")
        else 0
    )


def test_a_lead_assigned_to_a_rep_shows_in_their_header_and_list(browser, read):
    organization = pages.demo_organization()
    admin = User.objects.get(email=pages.email_of("admin"))
    rep = User.objects.get(email=pages.email_of("rep"))
    with tenant_context(organization):
        lead = Lead.objects.exclude(assigned_to=rep).select_related("company").first()
    with acting_as(admin, organization):
        lead_services.leads_assign(leads=[lead], assignee=rep, acting_user=admin)
    message = f"assigned you a lead: {lead.company.name}"

    browser.login(rep.email)
    browser.open(reverse("admin:leads_lead_changelist"))
    before = _badge(browser)
    assert before >= 1
    browser.click("#notifications-link")
    rows = browser.texts("#notification-list tr.unread")
    assert any(message in row for row in rows), rows
    link = reverse("admin:leads_lead_change", args=[lead.pk])
    assert browser.exists(f"#notification-list a[href='{link}']")

    with tenant_context(organization):
        notification = Notification.objects.get(
            recipient=rep, kind=NotificationKind.LEAD_ASSIGNED, target_id=lead.pk
        )
    browser.click(f"#read-{notification.pk}")
    assert browser.path.startswith(PAGE)
    # Lower by one, unless a reminder came in meanwhile (the worker runs).
    assert _badge(browser) <= before
    assert not any(message in r for r in browser.texts("#notification-list tr.unread"))

    browser.login(pages.email_of("rep", "northwind"))
    browser.open(PAGE)
    assert message not in browser.find("#content").text
