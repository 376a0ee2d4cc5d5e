"""A tag that names the person erased. Its scrubbed name may be another tag's: two people
each with their own tag ("vip-quixotefield", "vip-brackenbury") both turn into
"vip-[erased]", which the organization's tag names may hold once. Erasing the second was
refused as a conflict (a 500 on the leads list, a 409 in the API).

A tag that only the person carries is theirs: it is taken off them and deleted. A tag that
other leads carry too keeps serving them under its scrubbed name; where that name is
another live tag's, it is folded into that tag: every lead of it carries that tag instead,
and it is deleted. Either way its name is scrubbed, history included. Another
organization's tags of the same name are not touched, and a refused batch changes no tag.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from compliance.erasure import ERASED
from leads import services as lead_services
from leads.models import Tag
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.compliance.conftest import (
    erase_as,
    erase_on_list,
    live_tags,
    tables_containing,
    tagged_lead,
    tags_of,
)

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _tag(organization, name: str) -> Tag:
    with tenant_context(organization):
        return Tag.objects.create(organization_id=organization.pk, name=name)


def _names_in_history(organization, tag: Tag) -> set[str]:
    with tenant_context(organization):
        return set(Tag.history.filter(id=tag.pk).values_list("name", flat=True))


def test_two_people_with_their_own_tag_are_erased_on_the_leads_list(
    org_a, admin_a, subject, neighbour
):
    erase_as(org_a, admin_a, subject)

    response = erase_on_list(factories.admin_browser(admin_a), neighbour.lead)

    assert response.status_code == 302
    assert _messages(response) == ["Erased 1 person(s)."]
    # Each person's own tag is gone: from them, from the tags, and from its history.
    assert live_tags(org_a) == {}
    for person in (subject, neighbour):
        assert tags_of(org_a, person.lead) == set()
        assert _names_in_history(org_a, person.rows["tag"]) == {f"vip-{ERASED}"}
    assert tables_containing(org_a, ["quixotefield", "brackenbury"]) == {}


def test_two_people_with_their_own_tag_are_erased_in_one_batch(org_a, admin_a, subject, neighbour):
    response = erase_on_list(factories.admin_browser(admin_a), subject.lead, neighbour.lead)

    assert _messages(response) == ["Erased 2 person(s)."]
    assert live_tags(org_a) == {}
    assert tables_containing(org_a, ["quixotefield", "brackenbury"]) == {}


def test_the_api_erases_the_second_person_with_their_own_tag(org_a, admin_a, subject, neighbour):
    erase_as(org_a, admin_a, subject)

    response = factories.api_client(admin_a, org_a).post(
        f"/api/v1/leads/{neighbour.lead.pk}/erase/", {}, format="json"
    )

    assert response.status_code == 200, response.content
    assert live_tags(org_a) == {}
    assert tables_containing(org_a, ["brackenbury"]) == {}


def test_a_tag_other_leads_carry_is_folded_into_the_tag_of_its_scrubbed_name(
    org_a, admin_a, subject
):
    family = _tag(org_a, "Quixotefield family")
    cousin = tagged_lead(org_a, "Cousin Amos", family)
    taken = _tag(org_a, f"{ERASED} family")
    stranger = tagged_lead(org_a, "Stranger Ida", taken)
    both = tagged_lead(org_a, "Friend Ned", family, taken)
    with tenant_context(org_a):
        lead_services.lead_set_tags(
            lead=subject.lead, tags=[subject.rows["tag"], family], acting_user=None
        )

    erasure = erase_as(org_a, admin_a, subject)

    # Their own tag is deleted, the family tag folded and deleted.
    assert erasure.result["tags_removed"] == 2

    # Every lead of the family tag carries the tag its name now is; one that had both
    # carries it once. The family tag is deleted, its name scrubbed with its history.
    assert live_tags(org_a) == {f"{ERASED} family": 4}
    for lead in (subject.lead, cousin, stranger, both):
        assert tags_of(org_a, lead) == {f"{ERASED} family"}
    with tenant_context(org_a):
        family = Tag.all_objects.get(pk=family.pk)
    assert family.is_deleted and family.name == f"{ERASED} family"
    assert _names_in_history(org_a, family) == {f"{ERASED} family"}
    assert tables_containing(org_a, ["quixotefield"]) == {}


def test_two_shared_tags_of_one_person_that_scrub_to_one_name_become_one(org_a, admin_a, subject):
    by_first = _tag(org_a, "Zebulon friends")
    by_last = _tag(org_a, "quixotefield FRIENDS")
    first = tagged_lead(org_a, "Friend Una", by_first)
    second = tagged_lead(org_a, "Friend Vic", by_last)
    with tenant_context(org_a):
        lead_services.lead_set_tags(lead=subject.lead, tags=[by_first, by_last], acting_user=None)

    erase_as(org_a, admin_a, subject)

    assert list(live_tags(org_a).values()) == [3]
    (name,) = live_tags(org_a)
    assert name.lower() == f"{ERASED} friends"
    for lead in (subject.lead, first, second):
        assert tags_of(org_a, lead) == {name}
    assert tables_containing(org_a, ["zebulon", "quixotefield"]) == {}


def test_another_organizations_tags_are_not_touched(org_a, org_b, admin_a, subject, outsider):
    family = _tag(org_a, "Quixotefield family")
    cousin = tagged_lead(org_a, "Cousin Amos", family)
    theirs = _tag(org_b, f"{ERASED} family")
    their_lead = tagged_lead(org_b, "Stranger Ida", theirs)
    with tenant_context(org_a):
        lead_services.lead_set_tags(lead=subject.lead, tags=[family], acting_user=None)
    before = live_tags(org_b), tags_of(org_b, outsider.lead)

    erase_as(org_a, admin_a, subject)

    # Organization A's family tag keeps its leads under its scrubbed name: the other
    # organization's tag of that name is not A's.
    assert live_tags(org_a) == {f"{ERASED} family": 2}
    assert tags_of(org_a, cousin) == {f"{ERASED} family"}
    assert (live_tags(org_b), tags_of(org_b, outsider.lead)) == before
    assert tags_of(org_b, their_lead) == {f"{ERASED} family"}


def test_a_refused_batch_changes_no_tag(org_a, admin_a, subject, neighbour):
    erase_as(org_a, admin_a, subject)
    before = live_tags(org_a), tags_of(org_a, neighbour.lead)

    response = erase_on_list(factories.admin_browser(admin_a), neighbour.lead, subject.lead)

    assert _messages(response)[0].startswith("Nothing was erased.")
    assert (live_tags(org_a), tags_of(org_a, neighbour.lead)) == before
    assert before[1] == {"vip-brackenbury"}
