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


def _import_tagged(admin, organization, tag_name: str):
    """An import, as `admin`, of one lead tagged `tag_name`."""
    source = io.StringIO(f"company_name,tags\nHot Pies,{tag_name}\n")
    with factories.acting_as(admin, organization):
        return csv_io.import_leads(source=source, acting_user=admin)


def _tags_of_imported_lead(organization) -> list[Tag]:
    with tenant_context(organization):
        lead = Lead.objects.get(company__name="Hot Pies")
        links = LeadTag.objects.filter(lead=lead).select_related("tag")
        return [link.tag for link in links]


def test_an_import_naming_a_tag_being_deleted_waits_and_tags_with_a_new_one():
    """The tag "hot" is being deleted (not committed yet) when an import names it: the
    import waits for the delete, then gives its lead a new "hot", as the import sent a
    moment later would. Before, it linked its lead to the tag it read before the delete,
    and the link stayed on the deleted tag."""
    organization = factories.make_organization("Tag Delete Import Race")
    admin = factories.org_admin(organization)
    with tenant_context(organization):
        tag = TagFactory(organization=organization, name="hot")
    with factories.acting_as(admin, organization), transaction.atomic():
        services.tag_delete(tag=tag, acting_user=admin)
        importing = Racer(lambda: _import_tagged(admin, organization, "hot"))
        wait_until_blocked(importing.start())
    importing.join()
    assert importing.error is None, repr(importing.error)
    assert importing.result.committed and importing.result.created == 1
    [given] = _tags_of_imported_lead(organization)
    assert given.pk != tag.pk and given.name == "hot" and not given.is_deleted


def test_a_tag_deleted_while_an_import_links_leads_to_it_is_taken_off_them():
    """An import has linked its lead to "hot" (not committed yet) when the tag is deleted:
    the delete waits for the import, then takes the tag off the imported lead too.
    Before, it did not wait, and the import's link stayed on the deleted tag."""
    organization = factories.make_organization("Import Tag Delete Race")
    admin = factories.org_admin(organization)
    with tenant_context(organization):
        tag = TagFactory(organization=organization, name="hot")
    with transaction.atomic():
        report = _import_tagged(admin, organization, "hot")

        def delete():
            with factories.acting_as(admin, organization):
                services.tag_delete(tag=tag, acting_user=admin)

        deleting = Racer(delete)
        wait_until_blocked(deleting.start())
    deleting.join()
    assert deleting.error is None, repr(deleting.error)
    assert report.committed and report.created == 1
    assert _tags_of_imported_lead(organization) == []
    with tenant_context(organization):
        assert Tag.all_objects.get(pk=tag.pk).is_deleted
