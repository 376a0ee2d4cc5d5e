"""`/api/v1/attachments/`: upload, list, download and delete on every kind of record, as
the record's own rules allow, and refused files leave nothing behind."""

from __future__ import annotations

import pytest

from attachments.models import RECORD_RESOURCES, Attachment
from smartweb.tenancy.context import tenant_context
from tests.attachments import factories, samples
from tests.attachments.conftest import stored_files
from tests.factories import api_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/attachments/"


@pytest.fixture
def records_a(org_a, rep_a):
    return factories.records(org_a, rep_a)


def _post(client, field, record, name, data):
    return client.post(
        URL, {field: str(record.pk), "file": samples.upload(name, data)}, format="multipart"
    )


def _rows(organization) -> int:
    with tenant_context(organization):
        return Attachment.all_objects.count()


@pytest.mark.parametrize("field", list(RECORD_RESOURCES))
def test_upload_list_and_download_on_each_record(field, org_a, rep_a, records_a, media):
    client = api_client(rep_a, org_a)
    record = records_a[field]

    created = _post(client, field, record, "Quote (final).pdf", samples.PDF)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body[field] == str(record.pk) and body["record_type"] == field
    assert body["original_name"] == "Quote (final).pdf"
    assert body["content_type"] == "application/pdf" and body["size"] == len(samples.PDF)

    listed = client.get(URL, {field: str(record.pk)}).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]

    download = client.get(body["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == samples.PDF
    # Stored under a random name in the organization's folder, never the user's name.
    (stored,) = stored_files(media)
    assert stored.startswith(f"attachments/{org_a.pk}/") and "Quote" not in stored


def test_download_headers_say_attachment_type_and_nosniff(org_a, rep_a, records_a):
    row = factories.attach(org_a, records_a["lead"], "logo.png", samples.PNG)
    response = api_client(rep_a, org_a).get(f"{URL}{row.pk}/download/")
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'attachment; filename="logo.png"'
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize("name", sorted(samples.ALLOWED))
def test_each_allowed_type_is_detected_from_its_content(name, org_a, rep_a, records_a):
    data, content_type = samples.ALLOWED[name]
    response = _post(api_client(rep_a, org_a), "lead", records_a["lead"], name, data)
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == content_type


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("invoice.pdf", samples.EXE, "not one of the allowed types"),
        ("setup.exe", samples.EXE, "are not accepted"),
        ("photo.pdf", samples.PNG, "image/png, which a .pdf file is not"),
        ("notes.txt", samples.HTML, "markup"),
        ("logo.txt", samples.SVG, "markup"),
        ("logo.svg", samples.SVG, "are not accepted"),
        ("brief.docx", samples.BOMB, "inflate"),
        ("brief.docx", samples.MACROS, "macros"),
        ("brief.docx", b"PK\x03\x04 not really a zip", "damaged"),
        ("empty.txt", b"", "empty"),
    ],
)
def test_a_disguised_or_refused_file_is_a_400_and_writes_nothing(
    name, data, reason, org_a, rep_a, records_a, media
):
    response = _post(api_client(rep_a, org_a), "lead", records_a["lead"], name, data)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert reason in str(error["details"]), error
    assert _rows(org_a) == 0 and stored_files(media) == []


def test_an_oversized_file_is_a_413_and_writes_nothing(settings, org_a, rep_a, records_a, media):
    settings.ATTACHMENT_MAX_BYTES = 1000
    data = samples.PDF + b"0" * 1000
    response = _post(api_client(rep_a, org_a), "lead", records_a["lead"], "big.pdf", data)
    assert response.status_code == 413
    assert "the limit is 1000 bytes" in response.json()["error"]["message"]
    assert _rows(org_a) == 0 and stored_files(media) == []


def test_exactly_one_record_is_needed(org_a, rep_a, records_a):
    client = api_client(rep_a, org_a)
    neither = client.post(URL, {"file": samples.upload("a.pdf", samples.PDF)}, format="multipart")
    both = client.post(
        URL,
        {
            "lead": str(records_a["lead"].pk),
            "company": str(records_a["company"].pk),
            "file": samples.upload("a.pdf", samples.PDF),
        },
        format="multipart",
    )
    assert neither.status_code == both.status_code == 400
    assert "exactly one" in str(both.json()["error"]["details"])


def test_another_organization_sees_nothing(org_a, rep_a, records_a, org_b, admin_b):
    row = factories.attach(org_a, records_a["lead"])
    outsider = api_client(admin_b, org_b)
    assert outsider.get(URL).json()["results"] == []
    assert outsider.get(f"{URL}{row.pk}/").status_code == 404
    assert outsider.get(f"{URL}{row.pk}/download/").status_code == 404
    assert outsider.delete(f"{URL}{row.pk}/").status_code == 404
    # Nor can they attach to A's lead: it is not a lead they can name.
    response = _post(outsider, "lead", records_a["lead"], "a.pdf", samples.PDF)
    assert response.status_code == 400 and _rows(org_a) == 1


@pytest.mark.parametrize("field", list(RECORD_RESOURCES))
def test_a_rep_without_scope_over_the_record_gets_404(field, org_a, records_a, rep_a2, media):
    row = factories.attach(org_a, records_a[field])
    other_rep = api_client(rep_a2, org_a)
    assert other_rep.get(URL).json()["results"] == []
    assert other_rep.get(f"{URL}{row.pk}/download/").status_code == 404
    assert other_rep.delete(f"{URL}{row.pk}/").status_code == 404
    response = _post(other_rep, field, records_a[field], "a.pdf", samples.PDF)
    assert response.status_code == 400  # not a record they may name
    assert len(stored_files(media)) == 1


def test_the_manager_of_the_reps_team_reads_them(org_a, records_a, manager_a):
    row = factories.attach(org_a, records_a["opportunity"])
    listed = api_client(manager_a, org_a).get(URL).json()["results"]
    assert [r["id"] for r in listed] == [str(row.pk)]


def test_read_only_reads_but_may_not_attach_or_delete(org_a, records_a, readonly_a, media):
    row = factories.attach(org_a, records_a["lead"])
    client = api_client(readonly_a, org_a)
    assert client.get(f"{URL}{row.pk}/download/").status_code == 200
    assert _post(client, "lead", records_a["lead"], "a.pdf", samples.PDF).status_code == 403
    assert client.delete(f"{URL}{row.pk}/").status_code == 403
    assert _rows(org_a) == 1 and len(stored_files(media)) == 1


def test_delete_moves_to_the_trash_and_keeps_the_file_until_the_purge(
    org_a, rep_a, records_a, media
):
    row = factories.attach(org_a, records_a["lead"])
    client = api_client(rep_a, org_a)
    assert client.delete(f"{URL}{row.pk}/").status_code == 204
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}{row.pk}/download/").status_code == 404
    with tenant_context(org_a):
        assert Attachment.all_objects.get(pk=row.pk).deleted_by == rep_a
    assert len(stored_files(media)) == 1


def test_a_trashed_records_files_leave_the_list_with_it(org_a, rep_a, records_a):
    factories.attach(org_a, records_a["lead"])
    with tenant_context(org_a):
        records_a["contract"].delete()
        records_a["proposal"].delete()
        records_a["opportunity"].delete()
        records_a["lead"].delete()
    assert api_client(rep_a, org_a).get(URL).json()["results"] == []


def test_a_file_missing_from_the_storage_is_a_404(org_a, rep_a, records_a, media):
    row = factories.attach(org_a, records_a["lead"])
    (media / row.file).unlink()
    response = api_client(rep_a, org_a).get(f"{URL}{row.pk}/download/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
