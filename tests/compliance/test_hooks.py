"""Where other apps honour the person's rights: an erased email or phone is flagged by
lead creation (API and services) and CSV import; do-not-sell keeps a lead out of the
lead export."""

import io

import pytest

from compliance import consent, services
from compliance.choices import ConsentPurpose, ConsentSource
from compliance.suppression import SuppressedContact, is_suppressed
from leads import csv_io
from leads import services as lead_services
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def erased(org_a, subject):
    with tenant_context(org_a):
        services.erase_subject(lead=subject.lead, acting_user=None)
    return subject


def test_the_list_matches_every_spelling_in_its_organization_only(org_a, org_b, erased):
    with tenant_context(org_a):
        assert is_suppressed(email=erased.email.upper())
        assert is_suppressed(phone="+44 7700 913 579")
        assert is_suppressed(phone="0044 (7700) 913579")
        assert is_suppressed(email=erased.old_email)
        assert not is_suppressed(email="someone.else@example.test", phone="07700 111222")
        assert not is_suppressed(email="not an email")
    with tenant_context(org_b):
        assert not is_suppressed(email=erased.email, phone=erased.phone)


def test_creating_the_person_again_is_refused(org_a, erased):
    with tenant_context(org_a), pytest.raises(SuppressedContact):
        lead_services.lead_create(
            acting_user=None,
            data={"contact_name": "New name", "contact_phone": "+447700913579"},
            company_data={"name": "Fresh Start Ltd"},
            allow_duplicate=True,
        )


def test_the_api_answers_400_with_the_reason(org_a, admin_a, erased):
    client = factories.api_client(admin_a, org_a)
    response = client.post(
        "/api/v1/leads/",
        {"contact_name": "Back again", "contact_email": erased.email, "company": {"name": "X"}},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "suppression list" in str(response.json())


def test_a_csv_import_reports_the_row_and_writes_nothing(org_a, erased):
    source = io.BytesIO(
        (
            "company_name,email,contact_name\n"
            "Brand New Plumbing,new@brand-new.test,Someone New\n"
            f"Returning Ltd,{erased.email.upper()},Someone\n"
        ).encode()
    )
    with tenant_context(org_a):
        before = Lead.all_objects.count()
        report = csv_io.import_leads(source=source, acting_user=None)
        assert Lead.all_objects.count() == before
    assert not report.committed
    assert [(e.row, "suppression list" in e.reason) for e in report.errors] == [(3, True)]


def test_do_not_sell_keeps_a_lead_out_of_exports(org_a, subject, neighbour):
    with tenant_context(org_a):
        services.consent_record(
            lead=subject.lead,
            purpose=ConsentPurpose.DATA_SALE,
            granted=False,
            source=ConsentSource.WEB_FORM,
            acting_user=None,
        )
        assert consent.is_do_not_sell(subject.lead)
        assert not consent.is_do_not_sell(neighbour.lead)
        out = io.StringIO()
        count = csv_io.export_leads(queryset=Lead.objects.all(), out=out, acting_user=None)
    assert count == 1
    assert neighbour.email in out.getvalue() and subject.email not in out.getvalue()
