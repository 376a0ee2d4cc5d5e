"""The back office in the organization's time zone (docs/decisions/0050): a task's due
time typed as 16:00 in London in summer is 15:00 UTC, shown back as 16:00; the days
either side of a change of the clocks; a time the clocks skip refused at the field; My
day's "today" and a proposal's last valid day are the organization's; the API keeps
answering and reading in UTC, also on a thread that has just served an admin page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from crm.models import Proposal, Task
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client
from tests.crm import factories as crm
from tests.crm.conftest import LONDON
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def london_rep(london):
    return factories.make_member(london, "sales_rep")


def _stored(organization, task) -> dt.datetime:
    with tenant_context(organization):
        return Task.objects.get(pk=task.pk).due_at


def _post_due(client, organization, task, date: str, time: str):
    url = f"/admin/crm/task/{task.pk}/change/"
    data = form_data(client.get(url).content.decode(), "task_form")
    data.update({"due_at_0": [date], "due_at_1": [time], "_save": ["Save"]})
    return client.post(url, data)


def test_a_due_time_is_typed_and_shown_in_the_organizations_zone(london, london_rep):
    task = crm.task(london, title="Call the roofer", assigned_to=london_rep)
    client = admin_client(london_rep)
    response = _post_due(client, london, task, "2027-07-01", "16:00")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _stored(london, task) == dt.datetime(2027, 7, 1, 15, 0, tzinfo=UTC)

    page = client.get(f"/admin/crm/task/{task.pk}/change/").content.decode()
    assert 'name="due_at_1" value="16:00:00"' in page
    assert (
        f'<span class="time-zone" title="The time is read in this time zone">{LONDON}</span>'
        in page
    )
    assert f"Times in {LONDON}" in page
    listing = client.get("/admin/crm/task/").content.decode()
    row = re.search(r"<tr>.*?Call the roofer.*?</tr>", listing, re.S).group(0)
    assert "July 1, 2027, 4 p.m." in row, row


def test_the_same_time_either_side_of_the_clocks_going_forward(london, london_rep):
    """British Summer Time starts at 01:00 UTC on 28 March 2027."""
    task = crm.task(london, assigned_to=london_rep)
    client = admin_client(london_rep)
    assert _post_due(client, london, task, "2027-03-27", "10:00").status_code == 302
    assert _stored(london, task) == dt.datetime(2027, 3, 27, 10, 0, tzinfo=UTC)
    assert _post_due(client, london, task, "2027-03-28", "10:00").status_code == 302
    assert _stored(london, task) == dt.datetime(2027, 3, 28, 9, 0, tzinfo=UTC)
    assert _post_due(client, london, task, "2027-03-28", "00:30").status_code == 302
    assert _stored(london, task) == dt.datetime(2027, 3, 28, 0, 30, tzinfo=UTC)


def test_a_time_the_clocks_skip_is_refused_at_the_field(london, london_rep):
    task = crm.task(
        london, assigned_to=london_rep, due_at=dt.datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    )
    response = _post_due(admin_client(london_rep), london, task, "2027-03-28", "01:30")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["due_at"], errors
    message = "2027-03-28 01:30 does not exist in Europe/London: the clocks go forward past it."
    assert errors["due_at"] == [message]
    assert _stored(london, task) == dt.datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_the_night_the_clocks_go_back(london, london_rep):
    """British Summer Time ends at 01:00 UTC on 31 October 2027: 01:30 happens twice.
    Typed, it is the first; either one, shown and saved unchanged, stays as it was."""
    task = crm.task(london, assigned_to=london_rep)
    client = admin_client(london_rep)
    assert _post_due(client, london, task, "2027-10-31", "01:30").status_code == 302
    assert _stored(london, task) == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    second = dt.datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    with tenant_context(london):
        Task.objects.filter(pk=task.pk).update(due_at=second)
        versions = Task.objects.get(pk=task.pk).history.count()
    url = f"/admin/crm/task/{task.pk}/change/"
    data = form_data(client.get(url).content.decode(), "task_form")
    assert (data["due_at_0"], data["due_at_1"]) == (["2027-10-31"], ["01:30:00"])
    assert client.post(url, {**data, "_save": ["Save"]}).status_code == 302
    assert _stored(london, task) == second
    with tenant_context(london):
        assert Task.objects.get(pk=task.pk).history.count() == versions


def test_my_day_just_after_midnight_lists_the_local_day(london, london_rep, monkeypatch):
    """At 00:30 in London on 2 July (23:30 UTC on 1 July), "today" is 2 July there."""
    today = crm.task(
        london,
        title="This morning in London",
        assigned_to=london_rep,
        due_at=dt.datetime(2027, 7, 2, 8, 0, tzinfo=UTC),
    )
    tomorrow = crm.task(
        london,
        title="Tomorrow in London",
        assigned_to=london_rep,
        due_at=dt.datetime(2027, 7, 2, 23, 30, tzinfo=UTC),
    )
    now = dt.datetime(2027, 7, 1, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    page = admin_client(london_rep).get("/admin/").content.decode()
    tasks = re.search(r'id="my-day-tasks".*?</table>', page, re.S).group(0)
    assert today.title in tasks
    assert "Fri 2 Jul 09:00" in tasks  # the due time in London
    assert tomorrow.title not in tasks
    assert "Overdue" not in tasks
    # The task list's "Due today" filter means the same day.
    due_today = admin_client(london_rep).get("/admin/crm/task/?due=today").content.decode()
    assert today.title in due_today and tomorrow.title not in due_today


def test_a_proposal_expires_at_the_end_of_its_last_day_in_the_organizations_zone(
    london, monkeypatch
):
    admin = factories.org_admin(london)
    deal = crm.opportunity(london, owner=admin)
    proposal = crm.proposal(london, deal, valid_until=dt.date(2027, 7, 1))
    with tenant_context(london):
        Proposal.objects.filter(pk=proposal.pk).update(status="sent")
    # 23:30 UTC on 1 July: 00:30 on 2 July in London, its last valid day over there.
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2027, 7, 1, 23, 30, tzinfo=UTC))
    response = factories.api_client(admin, london).post(f"/api/v1/proposals/{proposal.pk}/accept/")
    assert response.status_code == 409, response.content
    assert "expired on 2027-07-01" in response.json()["error"]["message"]
    with tenant_context(london):
        assert Proposal.objects.get(pk=proposal.pk).status == "sent"


def test_the_api_answers_and_reads_in_utc_after_an_admin_page(london, london_rep):
    """The same thread serves an admin page in London, then the API: still UTC."""
    task = crm.task(
        london, assigned_to=london_rep, due_at=dt.datetime(2027, 7, 1, 15, 0, tzinfo=UTC)
    )
    assert admin_client(london_rep).get("/admin/").status_code == 200
    api = factories.api_client(london_rep, london)
    url = f"/api/v1/tasks/{task.pk}/"
    assert api.get(url).json()["due_at"] == "2027-07-01T15:00:00Z"

    # An explicit offset is read as given; a time without one is UTC, as before.
    answer = api.patch(url, {"due_at": "2027-07-01T16:00:00+01:00"}, format="json")
    assert answer.json()["due_at"] == "2027-07-01T15:00:00Z"
    answer = api.patch(url, {"due_at": "2027-07-01T16:00:00"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["due_at"] == "2027-07-01T16:00:00Z"
    assert _stored(london, task) == dt.datetime(2027, 7, 1, 16, 0, tzinfo=UTC)
