"""The lead list's search box on the live server, in Chromium: a rep types part of a
contact's name, of a company's email or web domain, and finds their lead; another rep's
lead is not shown (ADR 0056)."""

from __future__ import annotations

import uuid

from django.urls import reverse

from accounts.models import User
from tests.leads.factories import make_lead
from tests.live import pages

LEADS = reverse("admin:leads_lead_changelist")


def test_a_rep_finds_their_lead_by_part_of_any_searched_field(browser):
    organization = pages.demo_organization()
    rep = User.objects.get(email=pages.email_of("rep"))
    other_rep = User.objects.get(email=pages.email_of("rep2"))
    mark = uuid.uuid4().hex[:8]  # the demo's data is shared by the package's tests
    company = {
        "name": f"Quillfeather Joinery {mark}",
        "email": f"office-{mark}@quillfeather.test",
        "website": f"https://quillfeather-{mark}.test",
    }
    theirs = make_lead(
        organization, company=company, contact_name=f"Morwenna {mark}", assigned_to=rep
    )
    other = make_lead(
        organization, company=company, contact_name=f"Kit {mark}", assigned_to=other_rep
    )
    change = reverse("admin:leads_lead_change", args=[theirs.pk])
    browser.login(pages.email_of("rep"))
    assert pages.searched(browser, LEADS, f"wenna {mark}") == [change]
    assert pages.searched(browser, LEADS, f"office-{mark}") == [change]
    assert pages.searched(browser, LEADS, f"quillfeather-{mark[:5]}") == [change]
    # The other rep's lead is not theirs to see (nothing found: a near company name is
    # offered instead, their own lead's).
    assert reverse("admin:leads_lead_change", args=[other.pk]) not in pages.searched(
        browser, LEADS, f"Kit {mark}"
    )
