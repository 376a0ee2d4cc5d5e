"""The daily sweep removes stored files that no attachment row names once they are older
than the grace period, in every organization's folder and in a gone organization's; it
keeps every named file (a soft-deleted row's too), a recent file (an upload whose row has
not committed yet) and anything outside the folders it makes, and reports rows whose
file is missing."""

from __future__ import annotations

import io
import os
import time
import uuid

import pytest
from django.core.management import CommandError, call_command

from attachments.files import storage
from smartweb import jobs
from smartweb.tenancy.context import tenant_context
from tests.attachments import factories
from tests.attachments.conftest import stored_files

pytestmark = pytest.mark.django_db

TWO_DAYS = 2 * 24 * 3600


def _stray(media, folder: str, name: str, *, age_seconds: int = 0) -> str:
    """A file in the storage that no row names, `age_seconds` old."""
    path = media / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left behind")
    moment = time.time() - age_seconds
    os.utime(path, (moment, moment))
    return f"{folder}/{name}"


def _sweep(*args) -> str:
    out = io.StringIO()
    call_command("sweep_attachment_files", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def scene(org_a, org_b, rep_a, admin_b, media):
    """Two organizations' named files, a soft-deleted one, and strays old and new."""
    records_a = factories.records(org_a, rep_a)
    named = factories.attach(org_a, records_a["lead"])
    trashed = factories.attach(org_a, records_a["opportunity"], "old.pdf")
    with tenant_context(org_a):
        trashed.delete()
    other = factories.attach(org_b, factories.records(org_b, admin_b)["lead"])
    for attachment in (named, trashed, other):  # named files are old too
        path = media / attachment.file
        os.utime(path, (time.time() - TWO_DAYS,) * 2)
    gone = uuid.uuid4()
    return {
        "kept": sorted([named.file, trashed.file, other.file]),
        "recent": _stray(media, f"attachments/{org_a.pk}", "uploading.pdf"),
        "old": _stray(media, f"attachments/{org_a.pk}", "crashed.pdf", age_seconds=TWO_DAYS),
        "gone": _stray(media, f"attachments/{gone}", "deleted.pdf", age_seconds=TWO_DAYS),
        "foreign": _stray(media, "exports", "report.csv", age_seconds=TWO_DAYS),
        "odd": _stray(media, "attachments/not-an-org", "x.pdf", age_seconds=TWO_DAYS),
        "org_a": org_a,
        "gone_id": gone,
    }


def test_old_files_no_row_names_go_and_everything_else_stays(scene, media):
    before = stored_files(media)
    dry = _sweep("--dry-run")
    assert stored_files(media) == before  # a dry run removes nothing
    assert "would remove 2 files" in dry

    out = _sweep()
    assert stored_files(media) == sorted(
        [*scene["kept"], scene["recent"], scene["foreign"], scene["odd"]]
    )
    assert f"{scene['org_a'].pk}: removed 1 files no row names, kept 1 recent" in out
    assert f"{scene['gone_id']} (organization gone): removed 1 files" in out
    assert "3 organization folders: removed 2 files." in out
    assert not (media / f"attachments/{scene['gone_id']}").exists()  # its emptied folder too

    again = _sweep()  # run twice: nothing more
    assert "2 organization folders: removed 0 files." in again
    assert stored_files(media) == sorted(
        [*scene["kept"], scene["recent"], scene["foreign"], scene["odd"]]
    )


def test_a_row_whose_file_is_missing_is_reported_and_kept(scene, media):
    lost = scene["kept"][0]
    storage().delete(lost)
    out = _sweep()
    assert f"  missing: {lost}" in out
    assert "1 rows name a missing file" in out


def test_a_grace_below_an_hour_is_refused(scene, media):
    before = stored_files(media)
    with pytest.raises(CommandError, match="--grace-hours must be 1 or more"):
        _sweep("--grace-hours", "0")
    assert stored_files(media) == before


def test_an_empty_storage_is_nothing_to_sweep(media):
    assert _sweep() == "0 organization folders: removed 0 files.\n"


def test_the_sweep_runs_daily_as_a_scheduled_command():
    assert "sweep_attachment_files" in jobs.scheduled_command_jobs
