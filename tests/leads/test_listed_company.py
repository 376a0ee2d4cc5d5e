"""A lead's company as lists show it (`leads_lead.listed_company`, kept by the database
from the company, leads migration 0026): after every kind of write it is the company's
listed fields as they are, soft-deleted leads included, in each organization."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import csv_io, selectors, services
from leads.api.serializers import LeadCompanySerializer
from leads.models import Company, Lead
from smartweb.tenancy.context import tenant_context
from tests.derived_columns import disagreeing, kept, lead_rows_written
from tests.factories import api_client
from tests.leads.factories import acting_as, make_lead

pytestmark = pytest.mark.django_db

# Each lead's company read from the company, as the lists read it before the column.
FROM_THE_COMPANY = """
SELECT l.id, l.listed_company::text, (
    SELECT json_build_object('id', c.id, 'name', c.name, 'business_type', c.business_type,
        'size', c.size, 'phone', c.phone, 'email', c.email, 'website', c.website,
        'city', c.city, 'postal_code', c.postal_code,
        'online_presence', c.online_presence, 'is_customer', c.is_customer)
    FROM leads_company c WHERE c.organization_id = l.organization_id AND c.id = l.company_id
)::text
FROM leads_lead l
"""


def test_the_kept_company_follows_every_kind_of_write(org_a, org_b):
    first = make_lead(org_a, contact_name="First", company={"name": "Drip Drop"})
    second = make_lead(org_a, contact_name="Second", company={"name": "Sparky"})
    other = make_lead(org_b, contact_name="Elsewhere", company={"name": "Drip Drop"})
    with tenant_context(org_a):
        spare = services.company_create(acting_user=None, data={"name": "Spare Parts"})
    steps = [
        lambda: services.company_update(
            company=Company.objects.get(pk=first.company_id),
            acting_user=None,
            data={"name": "Drip Drop Plumbing", "city": "Leeds", "is_customer": True},
        ),
        lambda: services.lead_update(
            lead=Lead.objects.get(pk=second.pk),
            acting_user=None,
            company_data={"website": "https://sparky.example", "size": "medium"},
        ),
        lambda: services.enrichment_record(
            lead=Lead.objects.get(pk=first.pk),
            acting_user=None,
            provider="places",
            data={"google_rating": 4.5, "google_review_count": 12, "city": "York"},
        ),
        # A lead moved to another company.
        lambda: Lead.objects.filter(pk=second.pk).update(company=spare),
        # The company of a soft-deleted lead renamed: a restore shows it as it is.
        lambda: services.lead_delete(lead=Lead.objects.get(pk=first.pk), acting_user=None),
        lambda: Company.all_objects.filter(pk=first.company_id).update(name="Drip Drop Ltd"),
        lambda: Lead.all_objects.get(pk=first.pk).restore(),
        # A bulk update of many companies in one statement.
        lambda: Company.objects.update(phone="+44 113 496 0000"),
    ]
    for number, step in enumerate(steps):
        with tenant_context(org_a):
            step()
        assert disagreeing(FROM_THE_COMPANY, org_a, org_b) == [], f"after step {number}"
    assert kept(first, "listed_company")["name"] == "Drip Drop Ltd"
    assert kept(first, "listed_company")["online_presence"]["google_rating"] == 4.5
    assert kept(second, "listed_company")["name"] == "Spare Parts"
    # The other organization's company of the same name is its own.
    assert kept(other, "listed_company")["name"] == "Drip Drop"


def test_an_unchanged_company_save_writes_no_lead(org_a):
    lead = make_lead(org_a, contact_name="Still", company={"name": "Steady"})
    with tenant_context(org_a):
        company = Company.objects.get(pk=lead.company_id)
        written_before = lead_rows_written()
        company.save()  # every column written, none of the listed ones changed
        assert lead_rows_written() == written_before


def test_the_lists_read_the_kept_company(org_a, admin_a):
    lead = make_lead(org_a, contact_name="Listed", company={"name": "Shown Ltd"})
    with tenant_context(org_a):
        services.company_update(
            company=Company.objects.get(pk=lead.company_id),
            acting_user=None,
            data={"online_presence": {"google_rating": 3.9}, "postal_code": "LS1 4AB"},
        )
    client = api_client(admin_a, org_a)
    with CaptureQueriesContext(connection) as captured:
        listed = client.get("/api/v1/leads/").json()["results"]
    page = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "leads_')]
    assert page and not any("leads_company" in sql for sql in page)
    company = next(row for row in listed if row["id"] == str(lead.pk))["company"]
    assert company["name"] == "Shown Ltd"
    assert company["postal_code"] == "LS1 4AB"
    assert company["online_presence"]["google_rating"] == 3.9
    assert client.get(f"/api/v1/leads/{lead.pk}/").json()["company"] == company


def test_the_lists_company_fields_are_the_kept_ones():
    assert tuple(LeadCompanySerializer.Meta.fields) == selectors.LISTED_COMPANY_FIELDS


def test_an_import_writes_each_lead_with_its_company(org_a, org_b, admin_a):
    make_lead(org_b, contact_name="Elsewhere")
    text = "company_name,contact_name,city\nDrip Drop,Dana,York\nSparky,Sam,Bath\n"
    written_before = lead_rows_written()
    with acting_as(org_a, admin_a):
        report = csv_io.import_leads(source=io.BytesIO(text.encode()), acting_user=admin_a)
    assert report.created == 2
    inserted, updated = (a - b for a, b in zip(lead_rows_written(), written_before, strict=True))
    assert (inserted, updated) == (2, 0)
    assert disagreeing(FROM_THE_COMPANY, org_a, org_b) == []
