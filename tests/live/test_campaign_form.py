"""A new AI call campaign in the browser: its page starts with the calling days a campaign
has by default (Monday to Friday) ticked, and saving it so stores them."""

from __future__ import annotations

from django.urls import reverse

from crm.models import Campaign
from smartweb.tenancy.context import tenant_context
from tests.live import pages

WEEKDAYS = ["0", "1", "2", "3", "4"]


def test_a_new_campaign_calls_monday_to_friday_unless_told_otherwise(browser, read):
    browser.login(pages.email_of("manager"))
    browser.open(reverse("admin:crm_campaign_add"))
    assert browser.values("input[name='calling_days']:checked") == WEEKDAYS

    browser.fill("name", "Weekday calls")
    browser.fill("script", "Offer a website with online booking.")
    browser.save()
    assert browser.errors() == []
    assert any("was added successfully" in m for m in browser.messages()), browser.messages()
    with tenant_context(pages.demo_organization()):
        campaign = Campaign.objects.get(name="Weekday calls")
    assert campaign.calling_days == [int(day) for day in WEEKDAYS]
