"""Tagging a lead from two sessions at once (committed transactions, separate
connections): the link is added once, the second session's tagging is a no-op, not a
unique-key error. And a tag added through the API while an import adds the same one: the
API's is refused by name, as it would be a moment later."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.db import connection, transaction

from leads import csv_io, services
from leads.models import Lead, LeadTag, Tag
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.concurrency import Racer, wait_until_blocked
from tests.leads.factories import TagFactory, make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for_a_lock_wait(seconds: float = 10) -> None:
    """Until another session of the test database waits for a lock."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)


def test_a_tag_added_by_two_sessions_at_once_is_linked_once():
    """The first session has linked the tag and not committed yet when the second adds
    it: the second waits, then finds it linked ("Tagged 0 lead(s)"). Before, the second
    inserted it again and failed on the unique key (the admin's "Tag selected leads" a
    500)."""
    organization = factories.make_organization("Tag Race")
    lead = make_lead(organization, contact_name="Ray Race")
    with tenant_context(organization):
        tag = TagFactory(organization=organization, name="race")
    linked = threading.Event()
    answers: dict[str, object] = {}

    def first():
        try:
            with tenant_context(organization), transaction.atomic():
                answers["first"] = services.leads_add_tag(leads=[lead], tag=tag, acting_user=None)
                linked.set()
                _wait_for_a_lock_wait()  # the second session is at the link now
        finally:
            linked.set()
            connection.close()

    def second():
        linked.wait(10)
        try:
            with tenant_context(organization), transaction.atomic():
                answers["second"] = services.leads_add_tag(leads=[lead], tag=tag, acting_user=None)
        except Exception as exc:  # noqa: BLE001 - the answer the test reports
            answers["second"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == {"first": 1, "second": 0}
    with tenant_context(organization):
        links = LeadTag.objects.filter(lead=lead, tag=tag)
        assert links.count() == 1
        # One history row per link really added: none for the second session's.
        assert LeadTag.history.filter(lead_id=lead.pk, tag_id=tag.pk).count() == 1


def test_a_tag_added_through_the_api_while_an_import_adds_it_is_refused_by_name():
    """The import has created the tag "hot" and not committed yet when a client adds
    "HOT": the client's insert waits for the import, then is refused as taken (a 400
    naming the field), and the import keeps its tag and its leads."""
    organization = factories.make_organization("Tag Import Race")
    admin = factories.org_admin(organization)
    client = factories.api_client(admin, organization)
    with factories.acting_as(admin, organization), transaction.atomic():
        report = csv_io.import_leads(
            source=io.StringIO("company_name,tags\nHot Pies,hot\n"), acting_user=admin
        )
        adding = Racer(lambda: client.post("/api/v1/tags/", {"name": "HOT"}, format="json"))
        wait_until_blocked(adding.start())
    adding.join()
    assert report.committed and report.created == 1
    assert adding.error is None, repr(adding.error)
    answer = adding.result
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["details"]["name"] == ["A tag with this name exists."]
    with tenant_context(organization):
        [tag] = Tag.objects.all()
        assert tag.name == "hot"
        assert list(Lead.objects.get().tags.all()) == [tag]
