"""A tag name that an erasure gives a shared tag ("vip-quixotefield" scrubbed to
"vip-[erased]") while another session gives a tag the same name, from two real sessions
(committed). The first holds the name uncommitted until the database shows the second
waiting for it.

Two erasures of different people at once: both found no live tag of that name, both
kept theirs under it, and the second failed on the tag names' unique rule (a 500 on the
leads list, 409 in the API), its person not erased. A tag created or renamed to that name
while an erasure ran failed the erasure the same way. Now the erasure that comes second
folds its tag into the first's, as it would a moment later. A user who names a tag as an
erasure has just named one is refused by name (400), as a moment later.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from compliance import services
from compliance.choices import RequestStatus
from compliance.erasure import ERASED
from leads import services as lead_services
from leads.models import Tag
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.compliance.conftest import erase_as, live_tags, tables_containing, tagged_lead, tags_of
from tests.concurrency import Racer, wait_until_blocked

pytestmark = pytest.mark.django_db(transaction=True)

SCRUBBED = f"vip-{ERASED}"
# The same name as a user would type it.
RENAMED = f"VIP-{ERASED}"


def _while_held(organization, admin, hold, race) -> Racer:
    """`hold()` as `admin` in a transaction left open until `race()`, in another session,
    waits for it; then committed. The racer, finished."""
    with factories.acting_as(admin, organization), transaction.atomic():
        hold()
        racer = Racer(race).start()
        wait_until_blocked(racer)
    return racer.join()


def test_two_erasures_at_once_share_the_scrubbed_name_of_their_tags(
    org_a, admin_a, subject, neighbour
):
    una = tagged_lead(org_a, "Friend Una", subject.rows["tag"])
    vic = tagged_lead(org_a, "Friend Vic", neighbour.rows["tag"])

    second = _while_held(
        org_a,
        admin_a,
        lambda: services.erase_subject(lead=subject.lead, acting_user=admin_a),
        lambda: erase_as(org_a, admin_a, neighbour),
    )

    assert second.error is None, repr(second.error)
    assert second.result.status == RequestStatus.COMPLETED
    # One tag of the scrubbed name, carried by both people's leads and their friends'.
    assert live_tags(org_a) == {SCRUBBED: 4}
    for lead in (subject.lead, neighbour.lead, una, vic):
        assert tags_of(org_a, lead) == {SCRUBBED}
    assert tables_containing(org_a, ["quixotefield", "brackenbury"]) == {}


def test_a_tag_renamed_to_the_scrubbed_name_while_the_erasure_runs_takes_its_leads(
    org_a, admin_a, subject
):
    una = tagged_lead(org_a, "Friend Una", subject.rows["tag"])
    with tenant_context(org_a):
        gold = Tag.objects.create(organization_id=org_a.pk, name="gold")
    ida = tagged_lead(org_a, "Stranger Ida", gold)

    erasure = _while_held(
        org_a,
        admin_a,
        lambda: lead_services.tag_update(tag=gold, acting_user=admin_a, data={"name": RENAMED}),
        lambda: erase_as(org_a, admin_a, subject),
    )

    assert erasure.error is None, repr(erasure.error)
    assert erasure.result.status == RequestStatus.COMPLETED
    assert erasure.result.result["tags_removed"] == 1
    assert live_tags(org_a) == {RENAMED: 3}
    for lead in (subject.lead, una, ida):
        assert tags_of(org_a, lead) == {RENAMED}
    assert tables_containing(org_a, ["quixotefield"]) == {}


def test_a_tag_added_through_the_api_while_the_erasure_names_one_so_is_refused_by_name(
    org_a, admin_a, subject
):
    una = tagged_lead(org_a, "Friend Una", subject.rows["tag"])
    client = factories.api_client(admin_a, org_a)

    adding = _while_held(
        org_a,
        admin_a,
        lambda: services.erase_subject(lead=subject.lead, acting_user=admin_a),
        lambda: client.post("/api/v1/tags/", {"name": "VIP-[Erased]"}, format="json"),
    )

    assert adding.error is None, repr(adding.error)
    answer = adding.result
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["details"]["name"] == ["A tag with this name exists."]
    assert live_tags(org_a) == {SCRUBBED: 2}
    assert tags_of(org_a, una) == {SCRUBBED}
