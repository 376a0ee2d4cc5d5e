"""The files on a record's admin page: listed with download links through the record's
own checks, attached by whoever may change the record, refused files shown as errors,
and the lead's files on its timeline."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from attachments.admin import download_url
from attachments.models import RECORD_RESOURCES, Attachment
from smartweb.tenancy.context import tenant_context
from tests.attachments import factories, samples
from tests.attachments.conftest import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def records_a(org_a, rep_a):
    return factories.records(org_a, rep_a)


def _change_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def _attach_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_attach", args=[record.pk])


@pytest.mark.parametrize("field", list(RECORD_RESOURCES))
def test_a_record_page_lists_its_files_and_attaches_one(field, client, org_a, rep_a, records_a):
    record = records_a[field]
    client.force_login(rep_a)
    response = client.post(
        _attach_url(record), {"file": samples.upload("site plan.png", samples.PNG)}, follow=True
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "“site plan.png” attached." in body
    with tenant_context(org_a):
        row = Attachment.objects.get()
    assert getattr(row, f"{field}_id") == record.pk
    assert f'href="{download_url(row)}"' in body and 'enctype="multipart/form-data"' in body
    assert f"· {escape(rep_a.full_name)}</td>" in body  # the uploader by name, as people are shown

    download = client.get(download_url(row))
    assert download["Content-Type"] == "image/png"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == samples.PNG


def test_a_disguised_file_is_shown_as_an_error_and_writes_nothing(
    client, org_a, rep_a, records_a, media
):
    client.force_login(rep_a)
    lead = records_a["lead"]
    response = client.post(
        _attach_url(lead), {"file": samples.upload("invoice.pdf", samples.EXE)}, follow=True
    )
    assert "not one of the allowed types" in response.content.decode()
    with tenant_context(org_a):
        assert not Attachment.all_objects.exists()
    assert stored_files(media) == []


def test_a_rep_out_of_reach_gets_404_and_read_only_no_upload_form(
    client, org_a, records_a, rep_a2, readonly_a
):
    row = factories.attach(org_a, records_a["lead"])
    client.force_login(rep_a2)
    assert client.get(download_url(row)).status_code == 404
    upload = {"file": samples.upload("a.pdf", samples.PDF)}
    assert client.post(_attach_url(records_a["lead"]), upload).status_code == 404

    client.force_login(readonly_a)
    body = client.get(_change_url(records_a["lead"])).content.decode()
    assert download_url(row) in body and 'enctype="multipart/form-data"' not in body
    upload = {"file": samples.upload("a.pdf", samples.PDF)}
    assert client.post(_attach_url(records_a["lead"]), upload).status_code == 403


def test_the_leads_files_are_on_its_timeline(client, org_a, rep_a, records_a):
    row = factories.attach(org_a, records_a["lead"], "Survey notes.txt", samples.TEXT)
    client.force_login(rep_a)
    body = client.get(_change_url(records_a["lead"])).content.decode()
    assert 'data-kind="file"' in body
    assert f'<a href="{download_url(row)}">File: Survey notes.txt</a>' in body


def _remove_url(record, row) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_detach", args=[record.pk, row.pk])


def test_a_file_is_removed_from_its_record_page_into_the_trash(client, org_a, rep_a, records_a):
    lead = records_a["lead"]
    row = factories.attach(org_a, lead, "old quote.pdf", samples.PDF)
    client.force_login(rep_a)
    assert _remove_url(lead, row) in client.get(_change_url(lead)).content.decode()

    response = client.post(_remove_url(lead, row), follow=True)
    body = response.content.decode()
    assert "“old quote.pdf” removed." in body and download_url(row) not in body
    with tenant_context(org_a):
        assert not Attachment.objects.exists()
        assert Attachment.all_objects.get().deleted_at is not None  # restorable until purged


def test_removing_a_file_needs_the_right_to_change_its_record(
    client, org_a, records_a, rep_a2, readonly_a, admin_b
):
    lead = records_a["lead"]
    row = factories.attach(org_a, lead)
    client.force_login(readonly_a)
    assert _remove_url(lead, row) not in client.get(_change_url(lead)).content.decode()
    assert client.post(_remove_url(lead, row)).status_code == 403
    for outsider in (rep_a2, admin_b):  # out of the rep's reach; another organization
        client.force_login(outsider)
        assert client.post(_remove_url(lead, row)).status_code == 404
    with tenant_context(org_a):
        assert Attachment.objects.filter(pk=row.pk).exists()


def test_a_second_remove_of_a_file_says_it_was_already_removed(
    client, org_a, rep_a, admin_a, rep_a2, readonly_a, records_a
):
    """A double click on Remove: the second post goes back to the record's files saying
    the file was already removed (who removed it, when another did), not a 404, and
    writes nothing. A file of another record, or one the user may not remove, is 404."""
    lead = records_a["lead"]
    row = factories.attach(org_a, lead, "old quote.pdf", samples.PDF)
    client.force_login(rep_a)
    assert client.post(_remove_url(lead, row)).status_code == 302
    with tenant_context(org_a):
        removed = Attachment.all_objects.values().get(pk=row.pk)
        versions = Attachment.history.filter(id=row.pk).count()

    again = client.post(_remove_url(lead, row), follow=True)

    assert again.redirect_chain == [(f"{_change_url(lead)}#attachments", 302)]
    body = again.content.decode()
    assert "“old quote.pdf” was already removed." in body and download_url(row) not in body
    with tenant_context(org_a):
        assert Attachment.all_objects.values().get(pk=row.pk) == removed
        assert Attachment.history.filter(id=row.pk).count() == versions

    client.force_login(admin_a)  # a colleague, who would have removed it too
    by_colleague = client.post(_remove_url(lead, row), follow=True).content.decode()
    assert f"“old quote.pdf” was already removed by {rep_a}." in by_colleague
    # Through another record's page; by a reader, who may remove no file; out of reach.
    client.force_login(rep_a)
    assert client.post(_remove_url(records_a["opportunity"], row)).status_code == 404
    for user in (readonly_a, rep_a2):
        client.force_login(user)
        assert client.post(_remove_url(lead, row)).status_code == 404
