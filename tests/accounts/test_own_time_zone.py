"""A user's own time zone (docs/decisions/0050): set on their profile in the back office
or through `/api/v1/me/`, it is where they read and type times in every organization;
blank, each organization's zone. Their colleagues, the API (UTC) and the rules about a
day (a proposal's last valid day) are unchanged; their reminders and digest name times
in it."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

import pytest
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import Organization, User
from crm.models import Task
from notifications import jobs, reminders
from smartweb.jobs import each_organization
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client, audit_actions
from tests.crm import factories as crm
from tests.crm.conftest import LONDON
from tests.html_forms import form_data
from tests.notifications.conftest import told

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NEW_YORK = "America/New_York"
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


@pytest.fixture
def london(db):
    return factories.make_organization("Thames Roofing", time_zone=LONDON)


@pytest.fixture
def london_rep(london):
    return factories.make_member(london, "sales_rep")


@pytest.fixture
def london_manager(london):
    return factories.make_member(london, "sales_manager")


def _profile(client, user) -> tuple[str, dict]:
    url = f"/admin/accounts/user/{user.pk}/change/"
    return url, form_data(client.get(url).content.decode(), "user_form")


def _set_own_zone(client, user, name: str):
    url, data = _profile(client, user)
    data.update({"time_zone": [name], "_save": ["Save"]})
    return client.post(url, data)


def _task_page(client, task) -> str:
    return client.get(f"/admin/crm/task/{task.pk}/change/").content.decode()


def test_a_rep_reads_and_types_times_in_their_own_zone(
    london,
    london_rep,
    london_manager,
):
    task = crm.task(
        london,
        title="Call the roofer",
        assigned_to=london_rep,
        due_at=dt.datetime(2027, 7, 1, 15, 0, tzinfo=UTC),
    )
    client = admin_client(london_rep)
    assert _set_own_zone(client, london_rep, NEW_YORK).status_code == 302
    london_rep.refresh_from_db()
    assert london_rep.time_zone == NEW_YORK

    page = _task_page(client, task)
    assert 'name="due_at_1" value="11:00:00"' in page  # 15:00 UTC, 11:00 in New York
    assert f"Times in {NEW_YORK}" in page and "(yours)" in page
    data = form_data(page, "task_form")
    data.update({"due_at_0": ["2027-07-02"], "due_at_1": ["09:00"], "_save": ["Save"]})
    assert client.post(f"/admin/crm/task/{task.pk}/change/", data).status_code == 302
    with tenant_context(london):
        assert Task.objects.get(pk=task.pk).due_at == dt.datetime(2027, 7, 2, 13, 0, tzinfo=UTC)

    # A colleague who chose none reads it in the organization's zone, and the API in UTC.
    colleague = _task_page(admin_client(factories.org_admin(london)), task)
    assert 'name="due_at_1" value="14:00:00"' in colleague
    assert f"Times in {LONDON}" in colleague and "(the organization's)" in colleague
    answer = factories.api_client(london_rep, london).get(f"/api/v1/tasks/{task.pk}/").json()
    assert answer["due_at"] == "2027-07-02T13:00:00Z"


def test_saving_pages_unchanged_in_ones_own_zone_changes_nothing(london, london_rep):
    task = crm.task(
        london, assigned_to=london_rep, due_at=dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    )
    client = admin_client(london_rep)
    assert _set_own_zone(client, london_rep, NEW_YORK).status_code == 302
    changed = audit_actions(london).count(AuditAction.USER_CHANGED)
    with tenant_context(london):
        before = Task.objects.get(pk=task.pk)
        versions = before.history.count()

    url, profile = _profile(client, london_rep)
    assert profile["time_zone"] == [NEW_YORK]
    assert client.post(url, {**profile, "_save": ["Save"]}).status_code == 302
    data = {**form_data(_task_page(client, task), "task_form"), "_save": ["Save"]}
    assert client.post(f"/admin/crm/task/{task.pk}/change/", data).status_code == 302

    assert audit_actions(london).count(AuditAction.USER_CHANGED) == changed
    with tenant_context(london):
        after = Task.objects.get(pk=task.pk)
        assert (after.due_at, after.updated_at) == (before.due_at, before.updated_at)
        assert after.history.count() == versions


def test_a_zone_the_server_does_not_know_is_refused_and_nothing_is_written(london, london_rep):
    client = admin_client(london_rep)
    response = _set_own_zone(client, london_rep, "Mars/Olympus_Mons")
    assert response.status_code == 200
    assert re.search(r"Select a valid choice", response.content.decode())
    api = factories.api_client(london_rep, london)
    refused = api.patch("/api/v1/me/", {"time_zone": "Mars/Olympus_Mons"}, format="json")
    assert refused.status_code == 400
    assert "Unknown time zone" in str(refused.json()["error"]["details"]["time_zone"])
    london_rep.refresh_from_db()
    assert london_rep.time_zone == ""
    assert AuditAction.USER_CHANGED not in audit_actions(london)


def test_the_api_sets_and_clears_ones_own_zone(london, london_rep):
    api = factories.api_client(london_rep, london)
    assert api.get("/api/v1/me/").json()["user"]["time_zone"] == ""
    response = api.patch("/api/v1/me/", {"time_zone": NEW_YORK}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["user"]["time_zone"] == NEW_YORK
    assert AuditAction.USER_CHANGED in audit_actions(london)
    cleared = api.patch("/api/v1/me/", {"time_zone": ""}, format="json")
    assert cleared.json()["user"]["time_zone"] == ""
    london_rep.refresh_from_db()
    assert london_rep.time_zone == ""


def test_nobody_else_sets_a_users_zone(london, london_rep):
    admin = factories.org_admin(london)
    client = admin_client(admin)
    page = client.get(f"/admin/accounts/user/{london_rep.pk}/change/").content.decode()
    assert 'name="time_zone"' not in page
    url = f"/admin/accounts/user/{london_rep.pk}/change/"
    assert client.post(url, {"full_name": "x", "time_zone": NEW_YORK}).status_code == 403
    london_rep.refresh_from_db()
    assert london_rep.time_zone == ""


def test_reminders_and_the_digest_name_times_in_each_members_zone(
    london, london_rep, london_manager, settings, mailoutbox
):
    User.objects.filter(pk=london_rep.pk).update(time_zone="Asia/Tokyo")
    now = timezone.now()
    due = (now + dt.timedelta(minutes=30)).replace(second=0, microsecond=0)
    crm.task(london, title="Quote the porch", assigned_to=london_rep, due_at=due)
    crm.task(london, title="Quote the roof", assigned_to=london_manager, due_at=due)
    assert each_organization(lambda organization: reminders.remind_tasks(now=now)) == 2

    tokyo = f"{timezone.localtime(due, TOKYO):%H:%M}"
    london_time = f"{timezone.localtime(due, zoneinfo.ZoneInfo(LONDON)):%H:%M}"
    (theirs,) = told(london, london_rep)
    assert theirs.message == f"Due at {tokyo} Asia/Tokyo: Quote the porch"
    (managers,) = told(london, london_manager)
    assert managers.message == f"Due at {london_time} {LONDON}: Quote the roof"

    settings.NOTIFICATION_DIGEST_HOUR = 0
    each_organization(functools.partial(jobs.send_digests_due, now=now))
    (digest,) = [mail for mail in mailoutbox if mail.to == [london_rep.email]]
    created = timezone.localtime(theirs.created_at, TOKYO)
    assert f"({created:%d %b %H:%M} Asia/Tokyo)" in digest.body


GONE = "Old/Zone"  # a name a tz update removed: stored before it, unknown to the server now


def _row(user) -> dict:
    return User.objects.filter(pk=user.pk).values().get()


def test_a_stored_zone_the_server_no_longer_knows_stays_until_changed(london, london_rep):
    User.objects.filter(pk=london_rep.pk).update(time_zone=GONE)  # as stored before
    task = crm.task(
        london, assigned_to=london_rep, due_at=dt.datetime(2027, 7, 1, 15, 0, tzinfo=UTC)
    )
    client = admin_client(london_rep)
    before = _row(london_rep)

    url, profile = _profile(client, london_rep)
    page = client.get(url).content.decode()
    assert profile["time_zone"] == [GONE]
    assert f'<option value="{GONE}" selected>{GONE} (not known here: times shown in UTC)' in page
    # Times read as UTC meanwhile.
    assert 'name="due_at_1" value="15:00:00"' in _task_page(client, task)

    # Saved unchanged: nothing written, nothing audited.
    assert client.post(url, {**profile, "_save": ["Save"]}).status_code == 302
    assert _row(london_rep) == before
    assert AuditAction.USER_CHANGED not in audit_actions(london)

    # Another name the server does not know is refused, and nothing is written.
    refused = client.post(url, {**profile, "time_zone": ["Mars/Olympus_Mons"], "_save": ["Save"]})
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert _row(london_rep) == before

    # The name changed alone keeps the zone; a known zone replaces it.
    renamed = {**profile, "full_name": ["Ray Roofer"], "_save": ["Save"]}
    assert client.post(url, renamed).status_code == 302
    london_rep.refresh_from_db()
    assert (london_rep.full_name, london_rep.time_zone) == ("Ray Roofer", GONE)
    assert _set_own_zone(client, london_rep, NEW_YORK).status_code == 302
    london_rep.refresh_from_db()
    assert london_rep.time_zone == NEW_YORK
    assert GONE not in client.get(url).content.decode(), "no longer offered once left"


def test_the_api_keeps_a_stored_zone_the_server_no_longer_knows_when_given_back(london, london_rep):
    User.objects.filter(pk=london_rep.pk).update(time_zone=GONE)
    api = factories.api_client(london_rep, london)
    profile = api.get("/api/v1/me/").json()["user"]
    assert profile["time_zone"] == GONE
    before = _row(london_rep)
    same = {"full_name": profile["full_name"], "time_zone": GONE}
    answer = api.patch("/api/v1/me/", same, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["user"]["time_zone"] == GONE
    assert _row(london_rep) == before
    assert AuditAction.USER_CHANGED not in audit_actions(london)
    refused = api.patch("/api/v1/me/", {"time_zone": "Mars/Olympus_Mons"}, format="json")
    assert refused.status_code == 400
    assert "Unknown time zone" in str(refused.json()["error"]["details"]["time_zone"])
    assert _row(london_rep) == before


def test_an_organization_zone_the_server_no_longer_knows_stays_until_changed(london):
    Organization.objects.filter(pk=london.pk).update(time_zone=GONE)  # as stored before
    admin = factories.make_member(london, "org_admin")
    client = admin_client(admin)
    url = f"/admin/accounts/organization/{london.pk}/change/"
    page = form_data(client.get(url).content.decode(), "organization_form")
    before = Organization.objects.filter(pk=london.pk).values().get()

    # Saved unchanged: nothing written, nothing audited.
    saved = client.post(url, {**page, "_save": ["Save"]})
    assert saved.status_code == 302, saved.content.decode()
    assert Organization.objects.filter(pk=london.pk).values().get() == before
    assert AuditAction.ORGANIZATION_CHANGED not in audit_actions(london)

    # Another name the server does not know is refused; a known one replaces it.
    refused = client.post(url, {**page, "time_zone": ["Mars/Olympus_Mons"], "_save": ["Save"]})
    assert refused.status_code == 200
    assert Organization.objects.filter(pk=london.pk).values().get() == before
    # Through the API, given back as read: the same.
    api = factories.api_client(admin, london)
    read = api.get(f"/api/v1/organizations/{london.pk}/").json()
    answer = api.patch(f"/api/v1/organizations/{london.pk}/", read, format="json")
    assert answer.status_code == 200, answer.content
    assert Organization.objects.filter(pk=london.pk).values().get() == before
    other = {"time_zone": "Mars/Olympus_Mons"}
    refused = api.patch(f"/api/v1/organizations/{london.pk}/", other, format="json")
    assert refused.status_code == 400
    assert "Unknown time zone" in str(refused.json()["error"]["details"]["time_zone"])

    assert client.post(url, {**page, "time_zone": [NEW_YORK], "_save": ["Save"]}).status_code == 302
    assert Organization.objects.get(pk=london.pk).time_zone == NEW_YORK
