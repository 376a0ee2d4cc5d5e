"""The back office in the organization's time zone, in the browser (docs/decisions/0050):
the demo organizations are in Europe/London, so a due time typed as 16:00 on a summer
day is 15:00 UTC, shown back as 16:00 on the task's page and in the list, and saving the
page unchanged changes nothing. Every page says which zone its times are in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.audit import AuditAction
from accounts.models import AuditLog, User
from crm.models import Task
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

ZONE = "Europe/London"


def _stored_due(task) -> dt.datetime:
    with tenant_context(pages.demo_organization()):
        return Task.objects.get(pk=task.pk).due_at


def test_a_due_time_typed_in_london_in_summer_is_stored_in_utc(browser, read):
    rep = User.objects.get(email=pages.email_of("rep"))
    task = crm_factories.task(
        pages.demo_organization(), title="Live local time: quote the porch", assigned_to=rep
    )
    with tenant_context(pages.demo_organization()):
        versions = Task.objects.get(pk=task.pk).history.count()
    browser.login(rep.email)
    change = reverse("admin:crm_task_change", args=[task.pk])
    browser.open(change)
    assert browser.find("#time-zone").text == f"Times in {ZONE}"
    assert browser.find(".field-due_at .time-zone").text == ZONE
    browser.fill("due_at_0", "2027-07-01")
    browser.fill("due_at_1", "16:00")
    browser.save()
    assert browser.errors() == []
    assert _stored_due(task) == dt.datetime(2027, 7, 1, 15, 0, tzinfo=dt.UTC)

    # Shown back as typed, on its page and in the list.
    assert browser.values("[name='due_at_0'], [name='due_at_1']") == ["2027-07-01", "16:00:00"]
    browser.open(reverse("admin:crm_task_changelist") + "?q=quote+the+porch")
    assert "July 1, 2027, 4 p.m." in browser.find("#result_list tbody tr td.field-due_at").text

    # Saved unchanged, the row, and its history, are as they were.
    with tenant_context(pages.demo_organization()):
        versions = Task.objects.get(pk=task.pk).history.count()
    browser.open(change)
    pages.save_unchanged(browser, admin.site._registry[Task], task.pk)
    with tenant_context(pages.demo_organization()):
        assert Task.objects.get(pk=task.pk).history.count() == versions
    assert _stored_due(task) == dt.datetime(2027, 7, 1, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("role", ["admin", "manager", "rep", "viewer"])
def test_every_role_reads_its_organizations_zone(browser, read, role):
    browser.login(pages.email_of(role))
    organization_page = reverse(
        "admin:accounts_organization_change", args=[pages.demo_organization().pk]
    )
    for path in (
        reverse("admin:index"),
        reverse("admin:crm_task_changelist") + "?due=today",
        reverse("admin:crm_salesdashboard_changelist"),
        organization_page,
    ):
        browser.open(path)
        assert browser.errors() == [], path
        assert browser.find("#time-zone").text == f"Times in {ZONE}", path
    # The organization's page (open last): its admin changes the zone, the others read it.
    editable = browser.exists("#id_time_zone")
    assert editable == (role == "admin")
    if not editable:
        assert ZONE in browser.find(".field-time_zone").text


def test_a_rep_chooses_their_own_zone_from_the_header(browser, read):
    """The header's zone opens the user's own profile, where they pick their zone; their
    pages then read in it, and saving one unchanged changes nothing."""
    rep = User.objects.get(email=pages.email_of("rep"))
    task = crm_factories.task(
        pages.demo_organization(),
        title="Live own zone: measure the gutters",
        assigned_to=rep,
        due_at=dt.datetime(2027, 7, 1, 15, 0, tzinfo=dt.UTC),
    )
    browser.login(rep.email)
    try:
        browser.open(reverse("admin:index"))
        browser.click("#time-zone a")
        assert browser.path == reverse("admin:accounts_user_change", args=[rep.pk])
        assert browser.selected("time_zone") == [""]
        browser.choose("time_zone", value="America/New_York")
        browser.save()
        assert browser.errors() == []
        rep.refresh_from_db()
        assert rep.time_zone == "America/New_York"
        browser.open(reverse("admin:crm_task_change", args=[task.pk]))
        assert browser.find("#time-zone").text == "Times in America/New_York"
        assert browser.values("[name='due_at_1']") == ["11:00:00"]
        pages.save_unchanged(browser, admin.site._registry[Task], task.pk)
        assert _stored_due(task) == dt.datetime(2027, 7, 1, 15, 0, tzinfo=dt.UTC)
    finally:
        User.objects.filter(pk=rep.pk).update(time_zone="")


@pytest.mark.parametrize("role", ["admin", "manager", "rep", "viewer"])
def test_a_stored_zone_the_server_no_longer_knows_saves_unchanged(browser, read, role):
    """A zone chosen before a tz update removed it: the profile shows it chosen, labelled
    as unknown, the pages read in UTC, and the profile saved unchanged writes and audits
    nothing."""
    user = User.objects.get(email=pages.email_of(role))
    User.objects.filter(pk=user.pk).update(time_zone="Old/Zone")
    try:
        browser.login(user.email)
        before = User.objects.filter(pk=user.pk).values().get()  # signed in: last_login
        with tenant_context(pages.demo_organization()):
            events = AuditLog.objects.filter(action=AuditAction.USER_CHANGED).count()
        browser.open(reverse("admin:index"))
        assert browser.find("#time-zone").text == "Times in UTC"
        browser.click("#time-zone a")
        assert browser.selected("time_zone") == ["Old/Zone"]
        assert browser.options("time_zone")["Old/Zone"] == (
            "Old/Zone (not known here: times shown in UTC)"
        )
        browser.save()
        assert browser.errors() == [], "the profile saved unchanged was refused"
        assert browser.messages(), "the save said nothing"
        assert User.objects.filter(pk=user.pk).values().get() == before
        with tenant_context(pages.demo_organization()):
            assert AuditLog.objects.filter(action=AuditAction.USER_CHANGED).count() == events
    finally:
        User.objects.filter(pk=user.pk).update(time_zone="")
