"""The admin's lead import wizard: upload, map columns (headers with spaces), preview,
import, the errors as CSV, the file kept after a failed import, and refusals. And one
upload submitted twice at once (a double click, a browser's retry): imported once; a tag
the import creates, created by someone else at the same moment: the import uses theirs."""

import csv
import io
import json
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from leads import admin_import, csv_io, services
from leads.models import Lead, Tag
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.concurrency import Racer, wait_until_blocked

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:leads_lead_import")
FILE = (
    "Business Name,Phone Number,Lead Status,Lead Source,Ignored Notes\n"
    "Drip Drop,01632 960001,Qualified,GOOGLE_MAPS,x\n"
    "Sparky,01632 960002,CONTACTED,Google Maps,y\n"
    "Bad Phone,phone me,new,referral,z\n"
)
MAPPING = {
    "column_0": "company_name",
    "column_1": "phone",
    "column_2": "status",
    "column_3": "source",
    "column_4": "",
}


@pytest.fixture(autouse=True)
def upload_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(admin_import, "UPLOAD_DIR", tmp_path)
    return tmp_path


def _upload(client, text=FILE, name="leads.csv"):
    response = client.post(UPLOAD, {"file": SimpleUploadedFile(name, text.encode(), "text/csv")})
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


def _leads(org):
    with tenant_context(org):
        return {lead.company.name: lead for lead in Lead.objects.select_related("company")}


def test_the_mapping_step_suggests_fields_and_previews_the_first_rows(client, admin_a):
    client.force_login(admin_a)
    assert client.get(UPLOAD).status_code == 200
    page = client.get(_upload(client))
    body = page.content.decode()
    assert page.status_code == 200
    form = page.context["form"]
    # "Business Name" is a known alias; the others are picked by hand.
    assert [f.initial for f in form.columns()] == ["company_name", "", "", "", ""]
    assert [f.label for f in form.columns()][:2] == ["Business Name", "Phone Number"]
    assert "<td>Drip Drop</td>" in body and "<td>phone me</td>" in body
    assert "3 row(s)" in body
    assert "google_maps (Google Maps)" in page.context["allowed"]["source"]


def test_a_failed_import_keeps_the_file_and_offers_the_errors_as_csv(client, org_a, admin_a):
    client.force_login(admin_a)
    step2 = _upload(client)
    failed = client.post(step2, MAPPING)
    assert failed.status_code == 200
    assert "Nothing imported" in failed.content.decode()
    assert _leads(org_a) == {}
    token = step2.rstrip("/").rsplit("/", 1)[-1]
    errors = client.get(reverse("admin:leads_lead_import_errors", args=[token]))
    assert errors["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(errors.getvalue().decode())))
    assert rows[0] == ["import_row", "import_problems", *FILE.splitlines()[0].split(",")]
    assert rows[1][0] == "4" and rows[1][1].startswith("error: Phone Number: ")
    assert rows[1][2:] == ["Bad Phone", "phone me", "new", "referral", "z"]

    # The file is still there: import the good rows this time.
    done = client.post(step2, {**MAPPING, "skip_bad_rows": "on"})
    assert done.status_code == 302 and done["Location"] == step2
    leads = _leads(org_a)
    assert set(leads) == {"Drip Drop", "Sparky"}
    # Choice values in any case, or by their label.
    assert (leads["Drip Drop"].status, leads["Drip Drop"].source) == ("qualified", "google_maps")
    assert (leads["Sparky"].status, leads["Sparky"].source) == ("contacted", "google_maps")
    result = client.get(step2).content.decode()
    assert "2 lead(s) created" in result and "import-errors-csv" in result
    # Once imported, the upload itself is gone.
    assert not list(admin_import.UPLOAD_DIR.glob("*.csv"))


def test_the_mapping_needs_a_company_name_and_one_column_per_field(client, org_a, admin_a):
    client.force_login(admin_a)
    step2 = _upload(client)
    no_name = client.post(step2, {**MAPPING, "column_0": ""})
    assert "Pick the column that holds the company name" in no_name.content.decode()
    twice = client.post(step2, {**MAPPING, "column_4": "phone"})
    assert "phone has more" in twice.content.decode()
    assert _leads(org_a) == {}


@pytest.mark.parametrize(("content", "reason"), [(b"\n\n", "empty"), (b"\x00\x01", "binary")])
def test_a_refused_file_says_why_on_the_upload_step(client, admin_a, upload_dir, content, reason):
    client.force_login(admin_a)
    page = client.post(UPLOAD, {"file": SimpleUploadedFile("x.csv", content, "text/csv")})
    assert page.status_code == 200 and reason in page.content.decode()
    assert not list(upload_dir.iterdir())


def test_progress_is_readable_while_and_after_importing(client, admin_a):
    client.force_login(admin_a)
    step2 = _upload(client)
    token = step2.rstrip("/").rsplit("/", 1)[-1]
    url = reverse("admin:leads_lead_import_progress", args=[token])
    assert client.get(url).json()["written"] == 0
    client.post(step2, {**MAPPING, "skip_bad_rows": "on"})
    assert client.get(url).json() == {"checked": 3, "written": 2, "total": 3, "done": True}


def test_another_user_or_organization_cannot_open_an_upload(
    client, admin_a, manager_a, admin_b, readonly_a
):
    client.force_login(admin_a)
    step2 = _upload(client)
    token = step2.rstrip("/").rsplit("/", 1)[-1]
    urls = [
        step2,
        reverse("admin:leads_lead_import_errors", args=[token]),
        reverse("admin:leads_lead_import_progress", args=[token]),
    ]
    for other in (admin_b, manager_a):
        client.force_login(other)
        for url in urls:
            assert client.get(url).status_code == 404, (other, url)
        assert client.post(step2, MAPPING).status_code == 404
    client.force_login(readonly_a)
    for url in [UPLOAD, *urls]:
        assert client.get(url).status_code == 403, url


def test_the_refused_rows_download_corrected_imports_again(client, org_a, admin_a):
    client.force_login(admin_a)
    step2 = _upload(client)
    client.post(step2, {**MAPPING, "skip_bad_rows": "on"})
    token = step2.rstrip("/").rsplit("/", 1)[-1]
    refused = client.get(reverse("admin:leads_lead_import_errors", args=[token]))
    corrected = refused.getvalue().decode().replace("phone me", "01632 960003")

    again = _upload(client, corrected, name="refused.csv")
    # The row's number and problems first, as columns the import leaves out.
    columns = ["", "", "company_name", "phone", "status", "source", ""]
    done = client.post(again, {f"column_{i}": target for i, target in enumerate(columns)})

    assert done.status_code == 302, done.content.decode()[:500]
    assert set(_leads(org_a)) == {"Drip Drop", "Sparky", "Bad Phone"}


def _wide(columns: int) -> str:
    """A file of `columns` columns, the company name first, and one row."""
    names = ["company_name", *(f"extra {n}" for n in range(1, columns))]
    return ",".join(names) + "\n" + ",".join(["Wide Co", *[""] * (columns - 1)]) + "\n"


@pytest.mark.parametrize("columns", [csv_io.MAX_COLUMNS + 1, 1_000_000])
def test_a_file_with_too_many_columns_is_refused_on_the_upload_step(
    client, admin_a, upload_dir, columns
):
    client.force_login(admin_a)
    text = _wide(columns)
    page = client.post(UPLOAD, {"file": SimpleUploadedFile("x.csv", text.encode(), "text/csv")})
    assert page.status_code == 200
    assert page.context["form"].errors["file"] == [
        f"The file has {columns} columns; at most {csv_io.MAX_COLUMNS} can be imported:"
        " remove the columns you do not need."
    ]
    assert not list(upload_dir.iterdir())


def test_a_file_at_the_column_limit_maps_and_imports_in_one_post(client, org_a, admin_a):
    """The mapping's post, as a browser sends it, fits Django's limit on form fields."""
    client.force_login(admin_a)
    step2 = _upload(client, _wide(csv_io.MAX_COLUMNS))
    page = client.get(step2)
    assert len(page.context["form"].columns()) == csv_io.MAX_COLUMNS
    columns = {f"column_{n}": "" for n in range(1, csv_io.MAX_COLUMNS)}
    done = client.post(
        step2,
        {"csrfmiddlewaretoken": "x", "column_0": "company_name", **columns, "skip_bad_rows": "on"},
    )
    assert done.status_code == 302
    assert set(_leads(org_a)) == {"Wide Co"}


def test_a_kept_file_over_a_lowered_limit_goes_back_to_the_upload_step(
    client, admin_a, monkeypatch
):
    client.force_login(admin_a)
    step2 = _upload(client)
    monkeypatch.setattr(csv_io, "MAX_COLUMNS", 4)
    page = client.get(step2, follow=True)
    assert page.redirect_chain == [(UPLOAD, 302)]
    assert "The file has 5 columns; at most 4" in page.content.decode()


# --- one upload submitted more than once at the same moment --------------------------------

# No email, phone or website: the duplicate check cannot tell these rows were imported.
KEYLESS = "company_name,contact_name,city\n" + "".join(
    f"Twice {n},Person {n},Leeds\n" for n in range(5)
)


def _advisory_lock_waits() -> bool:
    """Whether a session of this database waits for an advisory lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_one_upload_posted_twice_at_once_is_imported_once(org_a, admin_a, monkeypatch):
    """Two requests of one session, each on its own connection: the first to import
    holds the organization's import lock until the second waits for a lock too, so that
    both are in flight at once; the second then answers with the first one's report."""
    first = Client()
    first.force_login(admin_a)
    second = Client()
    second.cookies.update(first.cookies)
    step2 = _upload(first, KEYLESS)
    both_in = threading.Event()
    import_lock = csv_io.advisory_xact_lock

    def import_lock_then_wait(*parts, **kwargs):
        import_lock(*parts, **kwargs)
        if parts[0] == services.IMPORT_LOCK:
            both_in.wait(timeout=10)

    monkeypatch.setattr(csv_io, "advisory_xact_lock", import_lock_then_wait)
    answers = {}

    def post(client):
        try:
            answers[client] = client.post(step2, {"column_0": "company_name"}, follow=True)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while not _advisory_lock_waits() and time.monotonic() < deadline:
        time.sleep(0.02)
    both_in.set()
    for thread in threads:
        thread.join()

    with tenant_context(org_a):
        assert Lead.objects.count() == 5
    pages = sorted(answer.content.decode() for answer in answers.values())
    assert [answer.redirect_chain for answer in answers.values()] == [[(step2, 302)]] * 2
    assert [answer.status_code for answer in answers.values()] == [200, 200]
    assert sum("Imported 5 lead(s)" in page for page in pages) == 1
    assert sum("This file was imported already" in page for page in pages) == 1
    assert all("5 lead(s) created" in page for page in pages)


def test_a_post_that_waits_too_long_for_the_import_is_told_it_runs(
    client, org_a, admin_a, upload_dir
):
    client.force_login(admin_a)
    step2 = _upload(client, KEYLESS)
    token = step2.rstrip("/").rsplit("/", 1)[-1]
    upload = admin_import.StoredUpload(f"{org_a.pk}-{admin_a.pk}", token)
    held, done = threading.Event(), threading.Event()

    def import_elsewhere():
        try:
            with transaction.atomic():
                assert upload.lock()
                held.set()
                done.wait(timeout=10)
        finally:
            connection.close()

    elsewhere = threading.Thread(target=import_elsewhere)
    elsewhere.start()
    try:
        assert held.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '100ms'")
        answer = client.post(step2, {"column_0": "company_name"}, follow=True)
    finally:
        done.set()
        elsewhere.join()
    assert answer.redirect_chain == [(step2, 302)]
    assert "This file is being imported already" in answer.content.decode()
    assert _leads(org_a) == {}
    assert upload.has_file


def test_progress_written_by_two_requests_at_once_is_always_whole(upload_dir):
    upload = admin_import.StoredUpload("owner", "token")
    failures = []

    def write(n):
        try:
            for step in range(200):
                upload.write("progress", {"writer": n, "step": step})
        except OSError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert json.loads(upload.path("progress").read_text())["step"] == 199
    assert [f.name for f in upload_dir.iterdir()] == ["owner-token.progress"]


TAGGED = "company_name,tags\nTagged One,Hot\nTagged Two,hot; new\n"


@pytest.mark.django_db(transaction=True)
def test_a_tag_added_while_the_import_adds_it_too_is_the_one_its_leads_get(org_a, admin_a):
    """Someone adds the tag "HOT" (the API, the admin) while an import of leads tagged
    "hot" writes: the import's insert of the tag waits for theirs, then tags its leads
    with it. Before, the insert failed on the tag's unique name once theirs was committed:
    a server error, nothing imported."""
    client = Client()
    client.force_login(admin_a)
    step2 = _upload(client, TAGGED)
    mapping = {"column_0": "company_name", "column_1": "tags"}
    with factories.acting_as(admin_a, org_a), transaction.atomic():
        theirs = services.tag_create(acting_user=admin_a, data={"name": "HOT"})
        importing = Racer(lambda: client.post(step2, mapping, follow=True)).start()
        wait_until_blocked(importing)
    importing.join()
    assert importing.error is None, repr(importing.error)
    assert importing.result.status_code == 200
    assert "Imported 2 lead(s)" in importing.result.content.decode()
    with tenant_context(org_a):
        assert sorted(Tag.objects.values_list("name", flat=True)) == ["HOT", "new"]
        assert {
            lead.company.name: sorted(tag.name for tag in lead.tags.all())
            for lead in Lead.objects.select_related("company")
        } == {"Tagged One": ["HOT"], "Tagged Two": ["HOT", "new"]}
        # One history row per tag created: theirs, and the import's "new".
        assert Tag.history.filter(id=theirs.pk).count() == 1
        assert Tag.history.count() == 2
