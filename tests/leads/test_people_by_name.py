"""The back office names people: a list's assignee column and filter, a lead's assignee
choices and its "Create a task" step, a change page's read-only person fields (its own
and its inlines') and a record's "Shared with" box show each person by their full name
(their email only when they have none), each person once; two colleagues of one name in
the box, and in the share chooser, are told apart by their email."""

import re

import pytest
from django.urls import reverse

from tests.crm import factories as crm
from tests.factories import admin_browser, make_member, share
from tests.html_forms import select_labels
from tests.leads.factories import InteractionFactory, make_lead

pytestmark = pytest.mark.django_db

LEADS = reverse("admin:leads_lead_changelist")


def _page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _cells(page: str, column: str) -> list[str]:
    return re.findall(rf'<td class="field-{column}[^"]*">([^<]*)</td>', page)


def test_the_lead_list_names_its_assignees(client, org_a, admin_a, rep_a):
    nameless = make_member(org_a, "sales_rep", full_name="", email="no.name@example.test")
    make_lead(org_a, assigned_to=rep_a)
    make_lead(org_a, assigned_to=nameless)

    page = _page(client, admin_a, LEADS)
    assert sorted(_cells(page, "assigned_to")) == sorted([rep_a.full_name, nameless.email])
    assert rep_a.email not in page
    filter_choices = re.findall(r'href="\?assignee=[^"]*"[^>]*>([^<]*)</a>', page)
    assert rep_a.full_name in filter_choices and nameless.email in filter_choices


def test_a_lead_s_assignee_choices_are_names(client, org_a, admin_a, rep_a):
    lead = make_lead(org_a, assigned_to=rep_a)
    page = _page(client, admin_a, reverse("admin:leads_lead_change", args=[lead.pk]))
    assert rep_a.full_name in select_labels(page, "assigned_to")
    assert rep_a.email not in select_labels(page, "assigned_to")


def test_create_a_task_offers_me_once_and_each_colleague_by_name(client, org_a, manager_a, rep_a):
    lead = make_lead(org_a, assigned_to=rep_a)
    step = reverse("admin:leads_lead_step", args=[lead.pk, "task"])
    labels = select_labels(_page(client, manager_a, step), "assigned_to")
    assert labels == ["Me", rep_a.full_name]


def test_a_rep_is_offered_themselves_alone(client, org_a, rep_a):
    lead = make_lead(org_a, assigned_to=rep_a)
    step = reverse("admin:leads_lead_step", args=[lead.pk, "task"])
    assert select_labels(_page(client, rep_a, step), "assigned_to") == ["Me"]


def _text(html: str) -> str:
    """The words of `html`, its tags (a link) left out."""
    return re.sub(r"<[^>]+>", "", html).strip()


def _read_only(page: str, field: str) -> str:
    """What a change page shows in its read-only `field`."""
    found = re.search(rf'field-{field}\b.*?<div class="readonly">(.*?)</div>', page, re.S)
    assert found, f"{field} is not read-only on the page"
    return found.group(1).strip()


def _change(name: str, pk) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


def test_a_read_only_assignee_is_named(org_a, rep_a, rep_a2, readonly_a, admin_b):
    """Who edits a lead shared with them sees its owner, not a choice; a viewer sees every
    field read-only."""
    lead = make_lead(org_a, assigned_to=rep_a)
    share(lead, rep_a2, org_a, by=rep_a, access="update")
    page = _change("leads_lead", lead.pk)
    for reader in (rep_a2, readonly_a):
        body = admin_browser(reader).get(page).content.decode()
        assert _text(_read_only(body, "assigned_to")) == rep_a.full_name
        assert rep_a.email not in body
    assert admin_browser(admin_b).get(page).status_code == 404


def test_who_may_open_a_persons_page_gets_a_link_by_name(org_a, admin_a, rep_a):
    lead = make_lead(org_a, assigned_to=rep_a)
    note = InteractionFactory(organization=org_a, lead=lead, created_by=rep_a)
    body = admin_browser(admin_a).get(_change("leads_interaction", note.pk)).content.decode()
    user_page = _change("accounts_user", rep_a.pk)
    assert _read_only(body, "created_by") == f'<a href="{user_page}">{rep_a.full_name}</a>'


def test_an_inlines_read_only_assignee_is_named(org_a, rep_a, readonly_a):
    deal = crm.opportunity(org_a, owner=rep_a)
    crm.task(org_a, opportunity=deal, assigned_to=rep_a, title="Send the quote")
    body = admin_browser(readonly_a).get(_change("crm_opportunity", deal.pk)).content.decode()
    cells = re.findall(r'<td class="field-assigned_to">\s*<p>(.*?)</p>', body, re.S)
    assert [_text(cell) for cell in cells] == [rep_a.full_name]
    assert rep_a.email not in body


def test_the_shared_with_box_names_colleagues_and_tells_namesakes_apart(
    org_a, rep_a, rep_a2, admin_b
):
    sam = make_member(org_a, "sales_rep", full_name="Sam Patel", email="sam.p@example.test")
    namesake = make_member(org_a, "sales_rep", full_name="Sam Patel", email="sam@example.test")
    nameless = make_member(org_a, "sales_rep", full_name="", email="no.name@example.test")
    lead = make_lead(org_a, assigned_to=rep_a)
    for colleague in (sam, rep_a2, nameless):
        share(lead, colleague, org_a, by=rep_a)
    body = admin_browser(rep_a).get(_change("leads_lead", lead.pk)).content.decode()
    box = re.search(r'<div class="module shares".*?</table>', body, re.S).group(0)
    named = re.findall(r"<tr data-user[^>]*>\s*<td>(.*?)</td>", box)
    assert sorted(named) == sorted([f"Sam Patel ({sam.email})", rep_a2.full_name, nameless.email])
    assert namesake.email not in box
    assert f'aria-label="Stop sharing with {rep_a2.full_name}"' in box


def test_the_share_chooser_names_colleagues_as_the_shared_with_box_does(
    client, org_a, rep_a, rep_a2
):
    sam = make_member(org_a, "sales_rep", full_name="Sam Patel", email="sam.p@example.test")
    namesake = make_member(org_a, "sales_rep", full_name="Sam Patel", email="sam@example.test")
    nameless = make_member(org_a, "sales_rep", full_name="", email="no.name@example.test")
    lead = make_lead(org_a, assigned_to=rep_a)
    step = reverse("admin:leads_lead_step", args=[lead.pk, "share"])
    empty, *offered = select_labels(_page(client, rep_a, step), "user")

    assert empty == "---------"
    assert {
        f"Sam Patel ({sam.email})",
        f"Sam Patel ({namesake.email})",
        rep_a2.full_name,
        nameless.email,
    } <= set(offered)
    assert offered == sorted(offered, key=str.casefold)  # in name order, as the box
    assert rep_a.full_name not in offered  # not themselves
    assert not any("<" in label for label in offered)
