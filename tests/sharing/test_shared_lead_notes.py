"""A lead shared with a colleague shows them its own notes and calls, read only (ADR 0041):
the status notes its changes wrote (the reason of each change on its timeline) and the
interactions logged on it, in the API (its timeline, the interaction list and rows) and
in the admin (its page's timeline, each interaction's page). Editing or deleting them is
not theirs, whatever the share's level. Nobody else gets them: the lead's other
colleagues and another organization's users get 404 or nothing, the owner's other leads
stay out of reach, and taking the share back takes the notes back with the lead."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import services as account_services
from leads import services
from leads.models import Interaction
from sharing.services import record_unshare
from smartweb.rbac import Action, Resource, Scope
from tests.factories import acting_as, admin_browser, api_client, make_member, share
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

REASON = "Reached the owner, call back Tuesday"
CALL = "Asked for a quote"


def _worked_lead(organization, owner, name: str):
    """`owner`'s lead, moved on with a reason (a status note) and a call logged on it."""
    lead = make_lead(organization, contact_name=name, assigned_to=owner)
    with acting_as(owner, organization):
        services.lead_change_status(
            lead=lead, status="contacted", acting_user=owner, reason=f"{REASON} ({name})"
        )
        services.interaction_log(
            lead=lead, acting_user=owner, data={"type": "call", "subject": f"{CALL} ({name})"}
        )
    return lead


def _interactions(organization, lead) -> dict[str, str]:
    """The lead's interactions: id -> subject."""
    with acting_as(make_member(organization, "org_admin"), organization):
        return {str(i.pk): i.subject for i in Interaction.objects.filter(lead=lead)}


def _timeline(client, lead) -> tuple[int, set[str]]:
    response = client.get(f"/api/v1/leads/{lead.pk}/timeline/")
    rows = response.json()["results"] if response.status_code == 200 else []
    return response.status_code, {row["id"] for row in rows}


def _listed(client, lead) -> set[str]:
    response = client.get("/api/v1/interactions/", {"lead": str(lead.pk)})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _detail(client, pk: str) -> int:
    return client.get(f"/api/v1/interactions/{pk}/").status_code


def _lead_page(client, lead) -> str:
    response = client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    return response.content.decode() if response.status_code == 200 else ""


def _note_page(client, pk: str) -> int:
    return client.get(reverse("admin:leads_interaction_change", args=[pk])).status_code


def test_a_shared_lead_shows_its_notes_to_the_colleague_until_taken_back(
    org_a, rep_a, rep_a2, team_a
):
    lead = _worked_lead(org_a, rep_a, "Sam")
    other = _worked_lead(org_a, rep_a, "Kim")  # rep_a's too, not shared
    notes, others = _interactions(org_a, lead), _interactions(org_a, other)
    assert len(notes) == 2
    colleague, browser = api_client(rep_a2, org_a), admin_browser(rep_a2)
    assert _timeline(colleague, lead) == (404, set())

    share(lead, rep_a2, org_a, by=rep_a, access="read")

    assert _timeline(colleague, lead) == (200, set(notes))
    timeline = colleague.get(f"/api/v1/leads/{lead.pk}/timeline/").json()["results"]
    assert {row["subject"] for row in timeline} == {
        "Status changed from New to Contacted",
        f"{CALL} (Sam)",
    }
    assert f"{REASON} (Sam)" in {row["content"] for row in timeline}
    assert _listed(colleague, lead) == set(notes)
    assert all(_detail(colleague, pk) == 200 for pk in notes)
    page = _lead_page(browser, lead)
    assert f"{REASON} (Sam)" in page and f"{CALL} (Sam)" in page
    assert all(_note_page(browser, pk) == 200 for pk in notes)

    # The share is of this lead: the owner's other lead and its notes stay out of reach.
    assert _timeline(colleague, other) == (404, set())
    assert _listed(colleague, other) == set()
    assert all(_detail(colleague, pk) == 404 for pk in others)
    assert all(_note_page(browser, pk) != 200 for pk in others)

    with acting_as(rep_a, org_a):
        record_unshare(record=lead, user=rep_a2, acting_user=rep_a)
    assert _timeline(colleague, lead) == (404, set())
    assert _listed(colleague, lead) == set()
    assert all(_detail(colleague, pk) == 404 for pk in notes)
    assert _lead_page(browser, lead) == ""
    assert all(_note_page(browser, pk) != 200 for pk in notes)


def test_nobody_else_gets_the_shared_leads_notes(org_a, org_b, rep_a, rep_a2, admin_b):
    lead = _worked_lead(org_a, rep_a, "Sam")
    notes = _interactions(org_a, lead)
    share(lead, rep_a2, org_a, by=rep_a, access="update")
    bystander = make_member(org_a, "sales_rep")  # same organization, not shared with

    for user, organization in ((bystander, org_a), (admin_b, org_b)):
        client = api_client(user, organization)
        assert _timeline(client, lead) == (404, set())
        assert _listed(client, lead) == set()
        assert all(_detail(client, pk) == 404 for pk in notes)
        browser = admin_browser(user)
        assert _lead_page(browser, lead) == ""
        assert all(_note_page(browser, pk) != 200 for pk in notes)


@pytest.mark.parametrize("level", ["read", "update"])
def test_the_colleague_reads_the_notes_and_does_not_edit_them(org_a, rep_a, rep_a2, level):
    """A note or call is worked on in its lead's scope (ADR 0041): a share shows them, read
    only, at either level; the API refuses an edit or a deletion and the admin page draws
    the note without a form to save."""
    lead = _worked_lead(org_a, rep_a, "Sam")
    notes = _interactions(org_a, lead)
    share(lead, rep_a2, org_a, by=rep_a, access=level)
    colleague, browser = api_client(rep_a2, org_a), admin_browser(rep_a2)

    for pk in notes:
        edit = colleague.patch(f"/api/v1/interactions/{pk}/", {"content": "x"}, format="json")
        assert edit.status_code == 403, edit.content
        assert colleague.delete(f"/api/v1/interactions/{pk}/").status_code == 403
        page = browser.get(reverse("admin:leads_interaction_change", args=[pk]))
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        posted = browser.post(
            reverse("admin:leads_interaction_change", args=[pk]),
            {"type": "note", "direction": "internal", "subject": "Rewritten", "content": "x"},
        )
        assert posted.status_code == 403
    assert _interactions(org_a, lead) == notes


def test_a_colleague_who_moves_a_shared_lead_on_reads_the_reason_they_gave(org_a, rep_a, rep_a2):
    """The status note of a change made through an edit share is on the timeline of the
    colleague who made it (it was written, then hidden from them)."""
    lead = make_lead(org_a, contact_name="Sam", assigned_to=rep_a)
    share(lead, rep_a2, org_a, by=rep_a, access="update")
    colleague = api_client(rep_a2, org_a)
    moved = colleague.post(
        f"/api/v1/leads/{lead.pk}/change-status/",
        {"status": "contacted", "reason": "Covering for Sam's owner"},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    timeline = colleague.get(f"/api/v1/leads/{lead.pk}/timeline/").json()["results"]
    assert [(row["subject"], row["content"]) for row in timeline] == [
        ("Status changed from New to Contacted", "Covering for Sam's owner")
    ]
    assert "Covering for Sam&#x27;s owner" in _lead_page(admin_browser(rep_a2), lead)


def test_a_share_shows_no_notes_to_a_role_that_reads_none(org_a, admin_a, rep_a):
    """A share counts within what the colleague's role does (ADR 0041): a role that reads
    leads but no interactions is shown the shared lead without its notes."""
    with acting_as(admin_a, org_a):
        account_services.role_create(
            name="Lead reader",
            slug="lead-reader",
            grants={(Resource.LEADS, Action.READ): Scope.OWN},
            acting_user=admin_a,
        )
    reader = make_member(org_a, "lead-reader")
    lead = _worked_lead(org_a, rep_a, "Sam")
    share(lead, reader, org_a, by=rep_a, access="read")
    client = api_client(reader, org_a)
    assert client.get(f"/api/v1/leads/{lead.pk}/").status_code == 200
    assert _timeline(client, lead) == (200, set())
    assert client.get("/api/v1/interactions/", {"lead": str(lead.pk)}).status_code == 403
