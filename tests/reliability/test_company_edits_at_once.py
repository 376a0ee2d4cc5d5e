"""A company edited through the API or on its back-office page while notes are logged on
its lead, against four web workers: the edit (its version check locks the company before
its service runs) and a note's re-score (the lead, then its company) take the two rows in
one order, so they wait for each other and none loses a deadlock (a 409, to send again)."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from leads.models import Company, Interaction
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.clients import CLIENTS, admin_session, at_once
from tests.reliability.lead_additions import add

ROUNDS = 10


@pytest.fixture(scope="module")
def api(django_db_blocker, demo_org):
    with django_db_blocker.unblock():
        return admin_session(demo_org, name="company-edits")


def test_a_company_edited_while_notes_are_logged_on_its_lead_loses_no_deadlock(
    live_url, api, colleague, demo_org
):
    answers, lost = [], []
    for _ in range(ROUNDS):
        lead = factories.lead(demo_org)
        company, labels = str(lead.company_id), [uuid.uuid4().hex[:8] for _ in range(CLIENTS)]

        def write(i: int, lead=str(lead.pk), company=company, names=labels):
            if i % 2:  # a note on the lead
                return add(api, live_url, "interactions", lead, names[i], colleague)
            # Any version: the check locks the company all the same, then the edit writes.
            return api.patch(
                f"{live_url}/api/v1/companies/{company}/",
                json={"city": names[i]},
                headers={"If-Match": "*"},
                timeout=60,
            )

        sent = at_once(write)
        answers += sent
        acknowledged = {name for name, answer in zip(labels, sent, strict=True) if answer.ok}
        with tenant_context(demo_org):
            # What was acknowledged is there: each note, and one of the edits' cities.
            notes = Interaction.objects.filter(lead=lead, subject__in=labels)
            if set(notes.values_list("subject", flat=True)) != set(labels[1::2]) & acknowledged:
                lost.append("a note")
            if Company.objects.get(pk=company).city not in set(labels[::2]) & acknowledged:
                lost.append("the city")
    print(f"\nanswers: {Counter(answer.status_code for answer in answers)}")
    assert [answer.json() for answer in answers if not answer.ok] == []
    assert lost == []


def test_a_company_saved_on_its_page_while_notes_are_logged_on_its_lead_loses_no_deadlock(
    live_url, api, colleague, demo_org, first
):
    pages, notes, lost = [], [], []
    for _ in range(ROUNDS):
        lead = factories.lead(demo_org)
        path = f"/admin/leads/company/{lead.company_id}/change/"
        form = first.form(path, "company_form")
        city, labels = uuid.uuid4().hex[:8], [uuid.uuid4().hex[:8] for _ in range(CLIENTS)]

        def write(i: int, lead=str(lead.pk), path=path, form=form, city=city, names=labels):
            if i == 0:  # the page saved with a new city
                return first.post(path, {**form, "city": [city], "_save": ["Save"]})
            return add(api, live_url, "interactions", lead, names[i], colleague)

        saved, *logged = at_once(write)
        pages.append(saved.status_code)
        notes += logged
        with tenant_context(demo_org):
            stored = set(
                Interaction.objects.filter(lead=lead, subject__in=labels).values_list(
                    "subject", flat=True
                )
            )
            if stored != {
                name for name, answer in zip(labels[1:], logged, strict=True) if answer.ok
            }:
                lost.append("a note")
            if saved.status_code == 302 and Company.objects.get(pk=lead.company_id).city != city:
                lost.append("the city")
    print(f"\npages: {Counter(pages)}, notes: {Counter(a.status_code for a in notes)}")
    assert [answer.json() for answer in notes if not answer.ok] == []
    assert pages == [302] * ROUNDS, "a save refused (a deadlock lost shows on the page)"
    assert lost == []
