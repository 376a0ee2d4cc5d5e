"""A lead's status change reads as people name the statuses ("New → Contacted"), on the
lead's timeline and in the note it writes; a change noted before, with the stored values
("from new to contacted"), reads the same on the timeline, its reason beside it, and in
the interactions' list, its page and the API's answers, while it is stored as written."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from leads import services
from leads.choices import LeadStatus
from leads.models import Interaction
from smartweb.tenancy.context import tenant_context
from tests.factories import admin_browser, api_client
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db


def _status_entries(client, lead) -> list[str]:
    response = client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert response.status_code == 200
    return re.findall(
        r'<li class="timeline-entry timeline-status".*?</li>', response.content.decode(), re.S
    )


def test_a_status_change_is_named_by_the_statuses_labels(client, org_a, rep_a, lead_a):
    step = reverse("admin:leads_lead_step", args=[lead_a.pk, "status"])
    client.force_login(rep_a)
    answer = client.post(step, {"status": LeadStatus.CONTACTED, "reason": "Called back"})
    assert answer.status_code == 302, answer.content.decode()[:2000]

    [entry] = _status_entries(client, lead_a)
    assert "Status: New → Contacted" in entry and "Called back" in entry
    with tenant_context(org_a):
        note = Interaction.objects.get(lead=lead_a)
    assert note.subject == "Status changed from New to Contacted"
    timeline = api_client(rep_a, org_a).get(f"/api/v1/leads/{lead_a.pk}/timeline/").json()
    assert timeline["results"][0]["subject"] == "Status changed from New to Contacted"


def test_a_change_noted_before_with_the_stored_values_reads_by_labels(client, org_a, rep_a, lead_a):
    with tenant_context(org_a):
        services.lead_change_status(
            lead=lead_a, status=LeadStatus.NURTURING, acting_user=None, reason="Next spring"
        )
        # As the note was written before: the statuses' stored values.
        Interaction.objects.filter(lead=lead_a).update(
            subject="Status changed from new to nurturing"
        )
    client.force_login(rep_a)
    [entry] = _status_entries(client, lead_a)
    assert "Status: New → Nurturing" in entry and "Next spring" in entry
    page = client.get(reverse("admin:leads_lead_change", args=[lead_a.pk])).content.decode()
    assert "from new to nurturing" not in page  # the note is the change's reason, not listed


# --- an older note in the interactions' list, its page and the API -----------------------

OLDER = "Status changed from new to nurturing"
AS_READ = "Status changed from New to Nurturing"


@pytest.fixture
def older_note(org_a, lead_a):
    """rep_a's lead's status change, its note written as before: the stored values."""
    with tenant_context(org_a):
        services.lead_change_status(
            lead=lead_a, status=LeadStatus.NURTURING, acting_user=None, reason="Next spring"
        )
        Interaction.objects.filter(lead=lead_a).update(subject=OLDER)
        return Interaction.objects.get(lead=lead_a)


def _stored(org, note) -> tuple[str, object, int]:
    """The note's stored subject, its version (`updated_at`) and its history rows."""
    with tenant_context(org):
        row = Interaction.objects.get(pk=note.pk)
        return row.subject, row.updated_at, Interaction.history.filter(id=note.pk).count()


def test_an_older_status_note_is_listed_and_answered_by_the_statuses_labels(
    client, org_a, rep_a, readonly_a, lead_a, older_note
):
    # A note of someone's own that only starts as a status note does: read as written.
    own = "Status changed from new to contacted by the front desk"
    with tenant_context(org_a):
        services.interaction_log(
            lead=lead_a,
            acting_user=None,
            data={"type": "note", "direction": "internal", "subject": own},
        )
    before = _stored(org_a, older_note)
    client.force_login(rep_a)
    listed = client.get(reverse("admin:leads_interaction_changelist")).content.decode()
    assert AS_READ in listed and OLDER not in listed
    for reader in (rep_a, readonly_a):
        client.force_login(reader)
        page = client.get(reverse("admin:leads_interaction_change", args=[older_note.pk]))
        assert page.status_code == 200
        assert AS_READ in page.content.decode() and OLDER not in page.content.decode()

    api = api_client(rep_a, org_a)
    listed = api.get("/api/v1/interactions/").json()["results"]
    assert {row["subject"] for row in listed} == {AS_READ, own}
    assert api.get(f"/api/v1/interactions/{older_note.pk}/").json()["subject"] == AS_READ
    timeline = api.get(f"/api/v1/leads/{lead_a.pk}/timeline/").json()["results"]
    assert {row["subject"] for row in timeline} == {AS_READ, own}
    assert _stored(org_a, older_note) == before  # read, not written


def test_an_older_status_note_saved_unchanged_in_the_admin_writes_nothing(org_a, rep_a, older_note):
    before = _stored(org_a, older_note)
    browser = admin_browser(rep_a)
    url = reverse("admin:leads_interaction_change", args=[older_note.pk])
    data = form_data(browser.get(url).content.decode(), "interaction_form")
    assert data["subject"] == [AS_READ]
    data["_save"] = ["Save"]
    assert browser.post(url, data).status_code == 302
    assert _stored(org_a, older_note) == before


def test_an_older_status_note_sent_back_as_read_through_the_api_writes_nothing(
    org_a, rep_a, older_note
):
    before = _stored(org_a, older_note)
    api = api_client(rep_a, org_a)
    url = f"/api/v1/interactions/{older_note.pk}/"
    read = api.get(url)
    sent = api.patch(url, {"subject": read.json()["subject"]}, format="json")
    assert sent.status_code == 200 and sent.headers["ETag"] == read.headers["ETag"]
    assert _stored(org_a, older_note) == before
    changed = api.patch(url, {"subject": "Nurturing until spring"}, format="json")
    assert changed.json()["subject"] == "Nurturing until spring"
