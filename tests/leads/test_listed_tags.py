"""A lead's tags as lists show them (`leads_lead.listed_tags`, kept by the database from
the tag links, leads migration 0024): after every kind of write they are the tags its
links give, by name, live tags only, in each organization."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import csv_io, selectors, services
from leads.api.serializers import LeadTagSummarySerializer
from leads.models import Lead, LeadTag, Tag
from smartweb.tenancy.context import tenant_context
from tests.derived_columns import disagreeing, kept, lead_rows_written
from tests.factories import api_client
from tests.leads.factories import acting_as, make_lead

pytestmark = pytest.mark.django_db

# The tags of each lead read from its links, as the lists read them before the column.
FROM_THE_LINKS = """
SELECT l.id, l.listed_tags::text, (
    SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', t.name, 'color', t.color)
                             ORDER BY t.name), '[]')
    FROM leads_tag t WHERE t.organization_id = l.organization_id AND t.deleted_at IS NULL
      AND t.id IN (SELECT x.tag_id FROM leads_leadtag x
                   WHERE x.organization_id = l.organization_id AND x.lead_id = l.id))::text
FROM leads_lead l
"""


def test_the_kept_tags_follow_every_kind_of_write(org_a, org_b):
    with tenant_context(org_a):
        hot = services.tag_create(acting_user=None, data={"name": "hot", "color": "#ff0000"})
        cold = services.tag_create(acting_user=None, data={"name": "cold"})
    first, second, third = (make_lead(org_a, contact_name=f"Lead {n}") for n in range(3))
    other = make_lead(org_b, contact_name="Elsewhere")
    with tenant_context(org_b):
        services.lead_set_tags(
            lead=other,
            tags=[services.tag_create(acting_user=None, data={"name": "hot"})],
            acting_user=None,
        )
    steps = [
        lambda: services.lead_set_tags(lead=first, tags=[hot, cold], acting_user=None),
        lambda: services.leads_add_tag(leads=[second, third], tag=hot, acting_user=None),
        lambda: services.tag_update(tag=cold, acting_user=None, data={"name": "warm"}),
        lambda: services.tag_update(tag=hot, acting_user=None, data={"color": "#00ff00"}),
        lambda: services.lead_set_tags(lead=first, tags=[cold], acting_user=None),
        lambda: Tag.objects.get(pk=cold.pk).delete(),  # soft, links kept
        lambda: Tag.all_objects.get(pk=cold.pk).restore(),
        lambda: services.tag_delete(tag=hot, acting_user=None),  # links removed
        lambda: services.tag_restore(tag=Tag.all_objects.get(pk=hot.pk), acting_user=None),
        lambda: services.leads_add_tag(
            leads=[second], tag=Tag.objects.get(pk=hot.pk), acting_user=None
        ),
        lambda: services.leads_merge(primary=third, duplicates=[first], acting_user=None),
        lambda: LeadTag.objects.filter(lead=second).delete(),  # a bulk delete
    ]
    for number, step in enumerate(steps):
        with tenant_context(org_a):
            step()
        assert disagreeing(FROM_THE_LINKS, org_a, org_b) == [], f"after step {number}"
    assert [t["name"] for t in kept(third, "listed_tags")] == ["warm"]
    assert kept(second, "listed_tags") == []
    # The other organization's own.
    assert [t["name"] for t in kept(other, "listed_tags")] == ["hot"]


def test_renaming_a_tag_reorders_its_leads_tags_and_the_lists_show_them(org_a, admin_a):
    with tenant_context(org_a):
        beta = services.tag_create(acting_user=None, data={"name": "beta", "color": "#123456"})
        gamma = services.tag_create(acting_user=None, data={"name": "gamma"})
    lead = make_lead(org_a, contact_name="Tagged", tags=[beta, gamma])
    with tenant_context(org_a):
        services.tag_update(tag=gamma, acting_user=None, data={"name": "alpha"})
    client = api_client(admin_a, org_a)
    with CaptureQueriesContext(connection) as captured:
        listed = client.get("/api/v1/leads/").json()["results"]
    # The list reads the lead's column, not the links.
    assert not any("leads_leadtag" in q["sql"] for q in captured.captured_queries)
    expected = [
        {"id": str(gamma.pk), "name": "alpha", "color": gamma.color},
        {"id": str(beta.pk), "name": "beta", "color": "#123456"},
    ]
    assert next(row for row in listed if row["id"] == str(lead.pk))["tags"] == expected
    assert client.get(f"/api/v1/leads/{lead.pk}/").json()["tags"] == expected


def test_the_lists_tag_fields_are_the_kept_ones():
    assert tuple(LeadTagSummarySerializer.Meta.fields) == selectors.LISTED_TAG_FIELDS


def test_an_import_writes_each_lead_with_its_tags_and_rewrites_none(org_a, org_b, admin_a):
    with tenant_context(org_a):
        services.tag_create(acting_user=None, data={"name": "wet", "color": "#0000ff"})
    make_lead(org_b, contact_name="Elsewhere")
    text = "company_name,contact_name,tags\nDrip Drop,Dana,wet; hot\nSparky,Sam,hot\nQuiet,Quinn,\n"
    written_before = lead_rows_written()
    with acting_as(org_a, admin_a):
        report = csv_io.import_leads(source=io.BytesIO(text.encode()), acting_user=admin_a)
    assert report.created == 3
    # Inserted with their tags: no lead row was written twice.
    inserted, updated = (a - b for a, b in zip(lead_rows_written(), written_before, strict=True))
    assert (inserted, updated) == (3, 0)
    assert disagreeing(FROM_THE_LINKS, org_a, org_b) == []
    with tenant_context(org_a):
        leads = list(Lead.objects.all())
    names = {lead.contact_name: [t["name"] for t in kept(lead, "listed_tags")] for lead in leads}
    assert names == {"Dana": ["hot", "wet"], "Sam": ["hot"], "Quinn": []}
