"""A row deleted in the admin while others have it open, against four web workers: a save
of its form is refused with who deleted it and brings nothing back, its page offers no
save, and the same delete sent several times at once deletes it once."""

from __future__ import annotations

import html
import re

from crm.models import Task
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.clients import at_once

ROUNDS = 4


def _stored(model, pk):
    return model.all_objects.get(pk=pk)


def test_a_save_of_a_lead_deleted_while_its_form_was_open_is_refused(
    demo_org, first, second, live_url, read
):
    lead = factories.lead(demo_org)
    page = f"/admin/leads/lead/{lead.pk}/change/"
    form = {**first.form(page, "lead_form"), "notes": "Typed while it was deleted"}
    assert second.post(f"/admin/leads/lead/{lead.pk}/delete/", {"post": "yes"}).status_code == 302
    with tenant_context(demo_org):
        deleted = _stored(Lead, lead.pk)
        versions = Lead.history.filter(id=lead.pk).count()
    answer = first.post(page, form)
    assert (answer.status_code, answer.headers["Location"]) == (302, page)
    shown = first.shown(answer)
    assert "This lead was deleted by admin@demo.smartweb.test since you opened it" in shown
    # Its page now shows it as deleted, with nothing to save.
    assert "This lead is deleted: restore it" in shown and 'name="_save"' not in shown
    with tenant_context(demo_org):
        stored = _stored(Lead, lead.pk)
        assert (stored.deleted_at, stored.notes) == (deleted.deleted_at, lead.notes)
        assert Lead.history.filter(id=lead.pk).count() == versions


def test_what_was_typed_into_a_lead_deleted_meanwhile_is_shown_to_copy(
    demo_org, first, second, live_url, read
):
    lead = factories.lead(demo_org)
    page = f"/admin/leads/lead/{lead.pk}/change/"
    typed = "Called back on Monday:\nwants a quote <by Friday>"
    form = {**first.form(page, "lead_form"), "notes": typed}
    assert second.post(f"/admin/leads/lead/{lead.pk}/delete/", {"post": "yes"}).status_code == 302
    shown = first.shown(first.post(page, form))
    assert "since you opened it: nothing was saved. What you typed, not saved:" in shown
    # The notes as typed, line break kept, in a box to copy from (the fields left as they
    # were are not repeated).
    box = re.search(r"<label>Notes<br><textarea readonly[^>]*>(.*?)</textarea>", shown, re.S)
    assert box is not None and html.unescape(box.group(1)) == typed
    assert shown.count('class="typed-input"') == 1


def test_a_save_racing_the_delete_of_its_task_never_brings_it_back(
    demo_org, first, second, live_url, read
):
    for _ in range(ROUNDS):
        task = factories.task(demo_org)
        page = f"/admin/crm/task/{task.pk}/change/"
        form = {**first.form(page, "task_form"), "description": "Typed meanwhile"}
        jobs = [
            (first, page, form),
            (second, f"/admin/crm/task/{task.pk}/delete/", {"post": "yes"}),
        ]
        saved, deleted = at_once(lambda job: job[0].post(job[1], job[2]), jobs)
        assert (saved.status_code, deleted.status_code) == (302, 302)
        with tenant_context(demo_org):
            assert _stored(Task, task.pk).deleted_at is not None
        # Saved before the delete, or refused after it: never a server error.
        if saved.headers["Location"] == page:
            assert "since you opened it: nothing was saved" in first.shown(saved)


def test_one_delete_sent_several_times_at_once_deletes_once(demo_org, first, live_url, read):
    task = factories.task(demo_org)
    url = f"/admin/crm/task/{task.pk}/delete/"
    answers = at_once(lambda _: first.post(url, {"post": "yes"}))
    assert {(a.status_code, a.headers["Location"]) for a in answers} == {(302, "/admin/crm/task/")}
    with tenant_context(demo_org):
        assert _stored(Task, task.pk).deleted_at is not None
        # One version for the row's creation, one for its deletion.
        assert Task.history.filter(id=task.pk).count() == 2
