"""A delete's confirmation page lists what the delete takes along as its reader may know
it: a sales manager removing a tag (which takes it off every lead carrying it) is not told
how many leads outside their team carry it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from leads import services
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import session_client

pytestmark = pytest.mark.django_db


def _summary(page) -> str:
    """The confirmation's summary, as shown: "Tags: 1 Lead tags: 2"."""
    summary = re.search(r"<h2>Summary</h2>\s*<ul>(.*?)</ul>", page.content.decode(), re.S)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", summary).split())


def test_a_tags_delete_page_counts_only_the_leads_its_reader_may_read(
    org_a, admin_a, manager_a, rep_a, rep_a2
):
    with tenant_context(org_a):
        tag = services.tag_create(acting_user=None, data={"name": "needs-photos"})
    factories.lead(org_a, assigned_to=rep_a, tags=[tag])
    for _ in range(2):
        factories.lead(org_a, assigned_to=rep_a2, tags=[tag])
    page = reverse("admin:leads_tag_delete", args=[tag.pk])

    assert _summary(session_client(admin_a).get(page)) == "Tags: 1 Lead tags: 3"
    assert _summary(session_client(manager_a).get(page)) == "Tags: 1 Lead tags: 1"
