"""The unsubscribe link on a real server, outside any test transaction: the demo rep
emails a lead from its page, the job worker sends it, the link in the mail opens a page
whose button unsubscribes (its reads and writes in the organization's context, with no
user), and the lead page then refuses the next email with the reason."""

from __future__ import annotations

import re

from django.urls import reverse

from accounts.models import User
from compliance.models import SuppressionEntry
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

ADDRESS = "una.subscribe@journey.example"


def _send_from_the_lead_page(browser, lead) -> list[str]:
    browser.open(reverse("admin:leads_lead_step", args=[lead.pk, "send-email"]))
    browser.fill("subject", "A website for you")
    browser.fill("body", "Hello")
    browser.click("input[name='_step']")
    return browser.messages() + browser.errors()


def _mail_to(sink, address: str, timeout: float = 60):
    """The first mail the worker sent to `address` (others, such as digests, may come)."""
    with sink.arrived:
        sink.arrived.wait_for(lambda: any(m["To"] == address for m in sink.received), timeout)
        return next(m for m in sink.received if m["To"] == address)


def test_a_lead_unsubscribes_with_the_link_in_an_email(browser, read, worker, mail_server):
    sink, _ = mail_server
    organization = pages.demo_organization()
    rep = User.objects.get(email=pages.email_of("rep"))
    lead = crm_factories.lead(organization, assigned_to=rep, contact_email=ADDRESS)
    browser.login(rep.email)
    assert "Email queued for sending." in _send_from_the_lead_page(browser, lead)

    mail = _mail_to(sink, ADDRESS)
    header = mail["List-Unsubscribe"].strip()
    path = re.fullmatch(r"<https?://[^/]+(/u/[^>]+)>", header).group(1)
    assert path in mail.get_body(("plain",)).get_content()

    browser.open(path)
    assert browser.texts("h1") == ["Unsubscribe"]
    assert organization.name in browser.find("main").text
    with tenant_context(organization):
        assert not SuppressionEntry.objects.filter(reason="unsubscribed").exists()
    browser.click("button[type=submit]")
    assert browser.texts("h1") == ["You are unsubscribed"]
    with tenant_context(organization):
        assert SuppressionEntry.objects.filter(reason="unsubscribed").count() == 1
        assert not Lead.objects.get(pk=lead.pk).consent_to_contact

    browser.login(rep.email)
    shown = _send_from_the_lead_page(browser, lead)
    assert any("its owner unsubscribed" in text for text in shown), shown
