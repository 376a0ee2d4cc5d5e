"""A tag deleted while colleagues tag leads with it, against four web workers: when the
delete is done, no live lead carries the tag. A tagging acknowledged before the delete
is taken off with it; one that comes after is refused at `tags`, as the same request sent
a moment later is (the tag is no longer there)."""

from __future__ import annotations

import uuid

import pytest

from leads.models import LeadTag, Tag
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.clients import admin_session, at_once, refused_otherwise

ROUNDS = 8
TAGGERS = 7


@pytest.fixture(scope="module")
def api(django_db_blocker, demo_org):
    with django_db_blocker.unblock():
        return admin_session(demo_org, name="tag deletes")


def test_a_tag_deleted_while_leads_are_tagged_is_on_no_lead_after(live_url, api, demo_org, read):
    left_on, refused = [], []
    for _ in range(ROUNDS):
        leads = [str(factories.lead(demo_org).pk) for _ in range(TAGGERS)]
        with tenant_context(demo_org):
            tag = str(Tag.objects.create(name=f"hot-{uuid.uuid4().hex[:8]}").pk)

        def write(i: int, tag=tag, leads=leads):
            if i == 0:
                return api.delete(f"{live_url}/api/v1/tags/{tag}/", timeout=60)
            body = {"tags": [tag]}
            return api.patch(f"{live_url}/api/v1/leads/{leads[i - 1]}/", json=body, timeout=60)

        answers = at_once(write, range(TAGGERS + 1))
        assert answers[0].status_code == 204, answers[0].text
        refused += [
            (answer.status_code, answer.json()["error"])
            for answer in answers[1:]
            if answer.status_code != 200
        ]
        with tenant_context(demo_org):
            left_on += list(LeadTag.objects.filter(tag_id=tag).values_list("lead_id", flat=True))
    assert left_on == [], f"{len(left_on)} live link(s) to a deleted tag"
    # Refused as a moment later (the tag is gone), or as a lost deadlock is, to send again.
    assert refused_otherwise(refused, "tags") == []
