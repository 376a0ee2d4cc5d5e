"""The compliance page of an organization shows its own requests, exports, erasures,
withdrawals and purge plan, and nothing of another organization."""

import datetime as dt

import pytest
from django.utils import timezone

from compliance import services
from compliance.choices import ConsentPurpose, ConsentSource, RequestKind
from compliance.models import SubjectRequest
from leads.models import Company
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.compliance.conftest import build_person

pytestmark = pytest.mark.django_db

PAGE = "/admin/compliance/complianceoverview/"


def _activity(organization, admin, person, note: str) -> None:
    """An open request, an export, a withdrawal, and an erasure of another person."""
    with factories.acting_as(admin, organization):
        services.subject_request_open(
            kind=RequestKind.ERASURE, lead=person.lead, acting_user=admin, notes=note
        )
        services.export_subject(lead=person.lead, acting_user=admin)
        services.consent_record(
            lead=person.lead,
            purpose=ConsentPurpose.CONTACT,
            granted=False,
            source=ConsentSource.EMAIL,
            acting_user=admin,
        )


def test_the_page_of_a_shows_nothing_of_b(
    client, org_a, org_b, admin_a, admin_b, subject, outsider
):
    _activity(org_a, admin_a, subject, "A-request")
    _activity(org_b, admin_b, outsider, "B-request")
    gone = build_person(org_b, first="Lucasta", last="Pennyfeather", phone="07700957913")
    with factories.acting_as(admin_b, org_b):
        services.erase_subject(lead=gone.lead, acting_user=admin_b)
    client.force_login(admin_a)
    index = client.get("/admin/")
    assert PAGE.encode() in index.content
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert str(subject.lead.pk) in html and subject.last in html
    assert "Acme Web Sales" in html and admin_a.email in html
    for absent in (str(outsider.lead.pk), str(gone.lead.pk), outsider.last, "Bravo Leads"):
        assert absent not in html
    assert admin_b.email not in html


def test_the_page_needs_the_compliance_permission(client, org_a, manager_a):
    client.force_login(manager_a)
    assert PAGE.encode() not in client.get("/admin/").content
    assert client.get(PAGE).status_code == 403


def test_the_page_shows_what_the_next_purge_removes(client, org_a, admin_a, subject):
    with tenant_context(org_a):
        subject.lead.company.delete()
        Company.all_objects.filter(pk=subject.lead.company_id).update(
            deleted_at=timezone.now() - dt.timedelta(days=5)
        )
    org_a.settings = {"retention": {"deleted_days": 3}}
    org_a.save()
    client.force_login(admin_a)
    html = client.get(PAGE).content.decode()
    assert "Deleted rows are kept 3 days" in html
    assert "<td>deleted</td><td>leads_company</td><td>1</td>" in html


# --- the subject-request chooser -----------------------------------------------------------

CHOOSER = "/admin/autocomplete/"


def test_the_subject_request_chooser_answers_with_the_organizations_requests(
    client, org_a, org_b, admin_a, admin_b, subject, outsider
):
    """The suppression entry page links its subject request; the admin's chooser of
    subject requests answers (it answered 404: the requests had no search) with this
    organization's requests alone, found by the person's name."""
    _activity(org_a, admin_a, subject, "A-request")
    _activity(org_b, admin_b, outsider, "B-request")
    client.force_login(admin_a)
    query = {"app_label": "compliance", "model_name": "suppressionentry"}

    every = client.get(CHOOSER, {**query, "field_name": "subject_request"})
    by_name = client.get(CHOOSER, {**query, "field_name": "subject_request", "term": subject.last})
    by_other = client.get(
        CHOOSER, {**query, "field_name": "subject_request", "term": outsider.last}
    )
    listed = client.get("/admin/compliance/subjectrequest/", {"q": subject.last})

    with tenant_context(org_a):
        own = {str(pk) for pk in SubjectRequest.objects.values_list("pk", flat=True)}
    assert every.status_code == 200 and {r["id"] for r in every.json()["results"]} == own
    assert {r["id"] for r in by_name.json()["results"]} == own  # the export's and the erasure's
    assert by_other.json()["results"] == []
    assert listed.status_code == 200 and subject.last in listed.content.decode()
