"""Data subject export: every kind of record, nothing of anyone else, only with the
permission, always audited."""

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.audit import AuditAction
from accounts.models import AuditLog
from compliance.choices import RequestKind, RequestStatus
from compliance.models import SubjectRequest
from smartweb.tenancy.context import tenant_context
from tests import factories

pytestmark = pytest.mark.django_db

EVERY_KIND = [
    "leads.lead",
    "leads.company",
    "leads.tag",
    "leads.leadtag",
    "leads.interaction",
    "leads.leadenrichment",
    "crm.opportunity",
    "crm.proposal",
    "crm.proposallineitem",
    "crm.contract",
    "crm.aicall",
    "crm.task",
    "compliance.consentrecord",
    "compliance.subjectrequest",
]


def _export(user, organization, lead, **params):
    client = factories.api_client(user, organization)
    return client.get(f"/api/v1/leads/{lead.pk}/export/", params)


def test_export_holds_every_kind_of_record_and_its_history(
    org_a, admin_a, subject, neighbour, outsider
):
    response = _export(admin_a, org_a, subject.lead)
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"].startswith("attachment;")
    document = json.loads(response.content)
    sections = document["sections"]
    for label in EVERY_KIND:
        assert sections[label]["records"], f"no {label} in the export"
    for label in ("leads.lead", "leads.company", "leads.interaction", "crm.aicall"):
        assert sections[label]["history"], f"no history of {label}"
    # The lead merged into the subject is the same person: it is in the export.
    lead_ids = {row["id"] for row in sections["leads.lead"]["records"]}
    assert lead_ids == {str(subject.lead.pk), str(subject.rows["duplicate"].pk)}
    transcripts = [row["transcript"] for row in sections["crm.aicall"]["records"]]
    assert any(subject.phone in t for t in transcripts)
    assert document["consent"]["contact"]["granted"] is True
    text = response.content.decode().lower()
    for marker in subject.markers():
        assert marker in text
    for marker in neighbour.markers() + outsider.markers():
        assert marker not in text, marker
    organizations = {
        row["organization_id"]
        for section in sections.values()
        for row in section["records"] + section["history"]
    }
    assert organizations == {str(org_a.pk)}


def test_csv_bundle_has_a_file_per_kind_and_its_history(org_a, admin_a, subject):
    response = _export(admin_a, org_a, subject.lead, format="csv")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(bundle.namelist())
    manifest = json.loads(bundle.read("manifest.json"))
    for label in EVERY_KIND:
        assert f"{label}.csv" in names
        assert manifest["files"][f"{label}.csv"] >= 1
    assert "leads.lead.history.csv" in names
    calls = bundle.read("crm.aicall.csv").decode()
    assert "transcript" in calls.splitlines()[0] and subject.first in calls


def test_every_export_is_audited_without_the_data(org_a, admin_a, subject):
    _export(admin_a, org_a, subject.lead)
    with tenant_context(org_a):
        event = AuditLog.objects.get(action=AuditAction.EXPORT, target_id=str(subject.lead.pk))
        request = SubjectRequest.objects.get(pk=event.details["subject_request"])
    assert event.actor_id == admin_a.pk
    assert event.details["rows"]["crm.aicall"]["records"] == 2
    assert request.kind == RequestKind.EXPORT and request.status == RequestStatus.COMPLETED
    logged = json.dumps(event.details).lower() + json.dumps(request.result).lower()
    for marker in subject.markers():
        assert marker not in logged


@pytest.mark.parametrize("role", ["sales_manager", "read_only", "sales_rep"])
def test_export_without_the_permission_is_403(org_a, subject, role):
    user = factories.make_member(org_a, role)
    response = _export(user, org_a, subject.lead)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    with tenant_context(org_a):
        assert not AuditLog.objects.filter(action=AuditAction.EXPORT).exists()


def test_export_of_another_organizations_lead_is_404(org_b, admin_b, subject):
    assert _export(admin_b, org_b, subject.lead).status_code == 404


def test_export_from_the_command(org_a, subject, tmp_path):
    target = tmp_path / "subject.zip"
    call_command(
        "export_subject",
        str(subject.lead.pk),
        organization=org_a.slug,
        format="csv",
        output=str(target),
    )
    assert "crm.aicall.csv" in zipfile.ZipFile(target).namelist()
    out = io.StringIO()
    call_command("export_subject", str(subject.lead.pk), organization="acme", stdout=out)
    assert json.loads(out.getvalue())["subject"]["lead_id"] == str(subject.lead.pk)
    with pytest.raises(CommandError):
        call_command("export_subject", str(subject.lead.pk), organization="bravo")


def test_export_from_the_admin(client, org_a, admin_a, subject):
    client.force_login(admin_a)
    response = client.post(
        "/admin/leads/lead/",
        {"action": "export_subject_data", "_selected_action": [str(subject.lead.pk)]},
    )
    assert response.status_code == 200
    assert json.loads(response.content)["subject"]["lead_id"] == str(subject.lead.pk)
