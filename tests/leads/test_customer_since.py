"""A company made a customer is one since the organization's day, not the UTC day
(docs/decisions/0050): at 23:30 UTC on 1 July it is already 2 July in London."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import Company
from smartweb.tenancy.context import tenant_context
from tests.crm.conftest import LONDON
from tests.factories import api_client, make_organization, org_admin
from tests.leads.factories import CompanyFactory

pytestmark = pytest.mark.django_db

JUST_AFTER_LONDON_MIDNIGHT = dt.datetime(2027, 7, 1, 23, 30, tzinfo=dt.UTC)


@pytest.fixture
def london():
    return make_organization("Thames Roofing", time_zone=LONDON)


def test_a_company_made_a_customer_is_one_since_the_organizations_day(london, monkeypatch):
    company = CompanyFactory(organization=london, name="Drip Drop Plumbing")
    monkeypatch.setattr(timezone, "now", lambda: JUST_AFTER_LONDON_MIDNIGHT)
    client = api_client(org_admin(london), london)
    answer = client.patch(f"/api/v1/companies/{company.pk}/", {"is_customer": True}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["customer_since"] == "2027-07-02"
    with tenant_context(london):
        assert Company.objects.get(pk=company.pk).customer_since == dt.date(2027, 7, 2)


def test_a_company_added_as_a_customer_is_one_since_the_organizations_day(london, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: JUST_AFTER_LONDON_MIDNIGHT)
    client = api_client(org_admin(london), london)
    answer = client.post(
        "/api/v1/companies/", {"name": "Sparky Ltd", "is_customer": True}, format="json"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["customer_since"] == "2027-07-02"
