"""A row's History page: its columns named for people, the browser that made a change
cut short (all of it in the cell's title) so the changes stay in view, and an intro that
says what an entry opens: a version to read, or one to revert to where that is offered.
A change from or to nothing shows the admin's empty mark, never "None" nor a deleted row."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from accounts import services as accounts_services
from accounts.models import Membership
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import admin_client
from tests.crm import factories as crm_factories
from tests.factories import acting_as
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def _headers(page: str) -> list[str]:
    table = page[page.index('id="change-history"') :]
    return [unescape(text).strip() for text in re.findall(r"<th[^>]*>(.*?)</th>", table)]


def test_the_columns_are_labelled_and_the_browser_cut_short(org_a, admin_a):
    lead = make_lead(org_a, contact_name="Dana Drip")
    with tenant_context(org_a):
        Lead.history.filter(id=lead.pk).update(history_user_agent=BROWSER)
    page = admin_client(admin_a).get(reverse("admin:leads_lead_history", args=[lead.pk]))
    body = page.content.decode()
    headers = _headers(body)
    assert {"IP address", "User agent", "Request ID"} <= set(headers)
    assert not [header for header in headers if header.startswith("history_")]
    # What matters first; where it came from after the changes, short.
    assert headers.index("Changes") < headers.index("User agent")
    assert f'<span class="history-source" title="{BROWSER}">' in body
    assert "smartweb/admin/history.css" in body


def test_the_intro_says_what_an_entry_opens(org_a, admin_a, readonly_a, rep_a):
    lead = make_lead(org_a, contact_name="Dana Drip")
    opportunity = crm_factories.opportunity(org_a, owner=rep_a)
    pages = {
        "lead": reverse("admin:leads_lead_history", args=[lead.pk]),
        "opportunity": reverse("admin:crm_opportunity_history", args=[opportunity.pk]),
    }
    read = "Each entry opens that version of the {}, to read"
    revert = "Each entry opens that version of the {}; from there it can be saved back"
    for user, kind, intro in (
        (admin_a, "lead", read),  # leads' history is not reverted around their services
        (admin_a, "opportunity", revert),
        (readonly_a, "opportunity", read),
    ):
        body = admin_client(user).get(pages[kind]).content.decode()
        assert intro.format(kind) in body, (user, kind)
        assert "Choose a date from the list below" not in body


def test_a_change_from_nothing_shows_the_empty_mark(org_a, admin_a, rep_a2, team_a):
    with acting_as(admin_a, org_a):
        membership = Membership.objects.get(user=rep_a2)
        accounts_services.membership_update(
            membership=membership, changes={"team": team_a}, acting_user=admin_a
        )
    page = admin_client(admin_a).get(
        reverse("admin:accounts_membership_history", args=[membership.pk])
    )
    table = page.content.decode().split('id="change-history"')[1]
    newest = table.split("<tbody>")[1].split("</tr>")[0]
    cells = [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", newest, re.S)]
    reason, changes = cells[4], cells[5]
    assert (reason, changes) == ("", "Team: - → North"), cells


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
