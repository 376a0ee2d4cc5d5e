"""Bulk actions on leads against concurrent single edits (real sessions, committed): a
bulk action locks its leads up front in id order and writes them as they are once
locked; a deadlock that still happens (the shared rollup rows) is retried once, then
answered as a concurrent change to send again, never as the database being down; a lock
wait that runs out says the records are held, not that the database is out of reach."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from leads import services
from leads.models import Lead
from smartweb import error_views, outage
from smartweb.api.errors import exception_handler
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.concurrency import (
    Racer,
    held_elsewhere,
    real_deadlock,
    second_connection,
    wait_until_blocked,
)
from tests.leads.factories import make_lead


@pytest.fixture
def team():
    """A committed organization, its admin and two reps."""
    organization = factories.make_organization("Bulk Sales")
    return (
        organization,
        factories.org_admin(organization),
        factories.make_member(organization, "sales_rep"),
        factories.make_member(organization, "sales_rep"),
    )


def _assign(organization, leads, assignee, acting_user):
    def call():
        with factories.acting_as(acting_user, organization):
            return services.leads_assign(leads=leads, assignee=assignee, acting_user=acting_user)

    return call


@pytest.mark.django_db(transaction=True)
def test_a_bulk_assign_locks_its_leads_in_id_order_before_writing_any(team):
    organization, admin, rep, _ = team
    by_id = lambda lead: lead.pk  # noqa: E731
    first, middle, last = sorted((make_lead(organization) for _ in range(3)), key=by_id)
    with (
        second_connection(organization) as probe,
        tenant_context(organization),
        transaction.atomic(),
    ):
        Lead.objects.select_for_update().get(pk=middle.pk)  # a colleague's edit, open
        # The selection as the list showed it: last first.
        bulk = Racer(_assign(organization, [last, middle, first], rep, admin)).start()
        wait_until_blocked(bulk)
        held = {
            "first": held_elsewhere(probe, "leads_lead", first.pk),
            "last": held_elsewhere(probe, "leads_lead", last.pk),
        }
    bulk.join()
    # Waiting at the middle lead, it holds the first and has not reached the last.
    assert held == {"first": True, "last": False}
    assert bulk.error is None


@pytest.mark.django_db(transaction=True)
def test_a_bulk_assign_writes_each_lead_as_a_concurrent_edit_left_it(team):
    organization, admin, rep, colleague = team
    lead = make_lead(organization, assigned_to=rep, notes="first call booked")
    with tenant_context(organization):  # the selection as the list read it, before the edit
        listed = list(Lead.objects.filter(pk=lead.pk))
    with tenant_context(organization), transaction.atomic():
        edited = Lead.objects.select_for_update().get(pk=lead.pk)
        edited.notes, edited.assigned_to = "wants a quote", colleague
        edited.save(update_fields=["notes", "assigned_to", "updated_at"])
        bulk = Racer(_assign(organization, listed, rep, admin)).start()
        wait_until_blocked(bulk)
    bulk.join()
    assert bulk.error is None and bulk.result == 1
    with tenant_context(organization):
        stored = Lead.objects.get(pk=lead.pk)
        latest = Lead.history.filter(id=lead.pk).order_by("-history_date").first()
    assert (stored.assigned_to_id, stored.notes) == (rep.pk, "wants a quote")
    # Its history records the lead as the assign left it, the edit kept.
    assert (latest.assigned_to_id, latest.notes) == (rep.pk, "wants a quote")


# --- a deadlock is a conflict, not an outage --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_answers_a_conflict_to_retry_not_an_outage():
    deadlock = real_deadlock()
    assert outage.is_conflict(deadlock) and not outage.is_outage(deadlock)
    api = exception_handler(deadlock, {})
    assert api.status_code == 409
    assert api.data["error"]["code"] == "concurrent_change"
    assert "concurrent change" in api.data["error"]["message"]
    try:
        raise deadlock
    except type(deadlock):
        page = error_views.server_error(RequestFactory().post("/admin/leads/lead/"))
        json = error_views.server_error(RequestFactory().post("/api/v1/leads/"))
    assert page.status_code == 409 and b"cannot be reached" not in page.content
    assert b"concurrent change" in page.content
    assert json.status_code == 409 and b"concurrent_change" in json.content


@pytest.mark.django_db(transaction=True)
def test_a_lock_wait_that_runs_out_is_an_outage_that_says_the_records_are_held(team):
    organization, *_ = team
    lead = make_lead(organization)
    with second_connection(organization) as other, other.transaction():
        other.execute("SELECT id FROM leads_lead WHERE id = %s FOR UPDATE", [lead.pk])
        with (
            pytest.raises(OperationalError) as timed_out,
            tenant_context(organization),
            transaction.atomic(),
        ):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '100ms'")
            Lead.objects.select_for_update().get(pk=lead.pk)
    exc = timed_out.value
    assert outage.is_lock_timeout(exc) and outage.is_outage(exc)
    assert not outage.is_conflict(exc)
    try:
        raise exc
    except OperationalError:
        page = error_views.server_error(RequestFactory().post("/admin/leads/lead/"))
    assert page.status_code == 503 and page["Retry-After"]
    assert outage.LOCK_TIMEOUT_MESSAGE in page.content.decode()
    assert "cannot be reached" not in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_bulk_action_that_loses_a_deadlock_runs_once_more(team, monkeypatch):
    organization, admin, rep, _ = team
    leads = [make_lead(organization) for _ in range(2)]
    deadlock = real_deadlock()
    lost = []
    notify = services.notification_events.lead_assigned

    def lose_the_first_time(*, lead, acting_user):
        notify(lead=lead, acting_user=acting_user)
        if not lost:
            lost.append(lead.pk)
            raise deadlock

    monkeypatch.setattr(services.notification_events, "lead_assigned", lose_the_first_time)
    assert _assign(organization, leads, rep, admin)() == 2
    with tenant_context(organization):
        assert set(Lead.objects.values_list("assigned_to", flat=True)) == {rep.pk}
        # The first run rolled back whole: each lead assigned once in its history.
        assert Lead.history.filter(assigned_to=rep).count() == 2


@pytest.mark.django_db
def test_the_admin_shows_a_lost_deadlock_as_a_message_and_writes_nothing(
    client, org_a, admin_a, rep_a2, lead_a, monkeypatch
):
    deadlock = real_deadlock()
    assign = services.leads_assign.__wrapped__

    def deadlocked(**kwargs):
        assign(**kwargs)
        raise deadlock

    monkeypatch.setattr(services, "leads_assign", deadlocked)
    client.force_login(admin_a)
    response = client.post(
        reverse("admin:leads_lead_changelist"),
        {
            "action": "assign_selected",
            "_selected_action": [str(lead_a.pk)],
            "apply": "1",
            "assigned_to": str(rep_a2.pk),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert outage.CONFLICT_MESSAGE in response.content.decode()
    with tenant_context(org_a):
        assert Lead.objects.get(pk=lead_a.pk).assigned_to_id == lead_a.assigned_to_id
