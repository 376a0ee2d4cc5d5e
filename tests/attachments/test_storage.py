"""A file and its row are written together or not at all, and a row deleted for good (a
retention purge, a data subject's erasure) takes its file from the storage."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError
from django.utils import timezone

from attachments import files, services
from attachments.models import Attachment
from compliance import services as compliance_services
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests.attachments import factories, samples
from tests.attachments.conftest import stored_files

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - dt.timedelta(days=400)


@pytest.fixture
def records_a(org_a, rep_a):
    return factories.records(org_a, rep_a)


def _rows(organization) -> int:
    with tenant_context(organization):
        return Attachment.all_objects.count()


def test_a_row_the_database_refuses_leaves_no_file(org_a, org_b, admin_b, media):
    """A lead of another organization passes no check a request would make; here the
    system itself names one, and the composite tenant key refuses the row after the file
    was written: the file goes with it."""
    lead_b = factories.records(org_b, admin_b)["lead"]
    with tenant_context(org_a), pytest.raises(IntegrityError):
        services.attachment_create(
            record=Lead(pk=lead_b.pk, organization_id=org_a.pk),
            upload=samples.upload("quote.pdf", samples.PDF),
            acting_user=None,
        )
    assert _rows(org_a) == 0 and stored_files(media) == []


def test_a_file_the_storage_refuses_leaves_no_row(settings, tmp_path, org_a, records_a):
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": blocker / "media"},
        },
    }
    with tenant_context(org_a), pytest.raises(files.StorageFailed):
        services.attachment_create(
            record=records_a["lead"],
            upload=samples.upload("quote.pdf", samples.PDF),
            acting_user=None,
        )
    assert _rows(org_a) == 0


def test_the_api_answers_a_storage_failure_with_a_503(settings, tmp_path, org_a, rep_a, records_a):
    from tests.factories import api_client

    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": blocker / "media"},
        },
    }
    response = api_client(rep_a, org_a).post(
        "/api/v1/attachments/",
        {"lead": str(records_a["lead"].pk), "file": samples.upload("a.pdf", samples.PDF)},
        format="multipart",
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert _rows(org_a) == 0


def test_erasure_removes_the_subjects_files_and_their_rows(
    org_a, admin_a, records_a, media, django_capture_on_commit_callbacks
):
    for record in records_a.values():
        factories.attach(org_a, record, "Sam Smith CV.pdf")
    other = factories.records(org_a, admin_a)["lead"]
    kept = factories.attach(org_a, other)
    assert len(stored_files(media)) == 6

    with django_capture_on_commit_callbacks(execute=True), tenant_context(org_a):
        request = compliance_services.erase_subject(lead=records_a["lead"], acting_user=None)

    assert request.result["attachments"] == 5
    assert stored_files(media) == [kept.file]
    with tenant_context(org_a):
        assert list(Attachment.all_objects.values_list("pk", flat=True)) == [kept.pk]
        assert not Attachment.history.filter(original_name="Sam Smith CV.pdf").exists()


def test_retention_purges_the_files_of_purged_rows(
    org_a, rep_a, records_a, media, django_capture_on_commit_callbacks
):
    trashed = factories.attach(org_a, records_a["opportunity"], "old.pdf")
    recent = factories.attach(org_a, records_a["opportunity"], "recent.pdf")
    alive = factories.attach(org_a, records_a["opportunity"], "alive.pdf")
    with tenant_context(org_a):
        trashed.delete()
        recent.delete()
        Attachment.all_objects.filter(pk=trashed.pk).update(deleted_at=LONG_AGO)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", organization="acme", no_progress=True, stdout=io.StringIO())

    assert stored_files(media) == sorted([recent.file, alive.file])
    with tenant_context(org_a):
        assert set(Attachment.all_objects.values_list("pk", flat=True)) == {recent.pk, alive.pk}


def test_a_purged_record_takes_its_files_with_it(org_a, media, django_capture_on_commit_callbacks):
    from tests.leads.factories import make_lead

    lead = make_lead(org_a, contact_name="Gone Long Ago")
    factories.attach(org_a, lead)
    factories.attach(org_a, lead.company, "logo.png", samples.PNG)
    with tenant_context(org_a):
        lead.company.delete()
        Lead.all_objects.filter(pk=lead.pk).update(deleted_at=LONG_AGO)
        lead.company.__class__.all_objects.filter(pk=lead.company_id).update(deleted_at=LONG_AGO)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", organization="acme", no_progress=True, stdout=io.StringIO())

    assert stored_files(media) == [] and _rows(org_a) == 0


def test_a_rolled_back_purge_keeps_the_files(org_a, records_a, media):
    """Files go when the deletion commits: here the test's transaction never does."""
    row = factories.attach(org_a, records_a["lead"])
    with tenant_context(org_a):
        row.hard_delete()
    assert stored_files(media) == [row.file]
