"""/healthz?full=1 and db_report: the last base backup's age and WAL archiving, for the
platform's staff or the health token only."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from smartweb import backups
from tests import factories

pytestmark = pytest.mark.django_db


def write_backup(root, finished_at: datetime) -> None:
    label = finished_at.strftime("%Y%m%dT%H%M%SZ")
    backup = backups.Backup(label, 15, finished_at, finished_at, 1, "0" * 24, "0" * 24, 2**24)
    (root / "base" / label).mkdir(parents=True)
    (root / "base" / label / "backup.json").write_text(backup.to_json())


def test_the_plain_check_says_nothing_more_and_the_full_one_needs_staff_or_the_token(
    client, admin_a, settings
):
    settings.HEALTH_TOKEN = "health-secret-0123456789"
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    assert client.get("/healthz?full=1").status_code == 403
    wrong = client.get("/healthz?full=1", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 403
    client.force_login(admin_a)  # an organization's admin is not the platform's staff
    assert client.get("/healthz?full=1").status_code == 403
    client.logout()

    with_token = client.get("/healthz?full=1", HTTP_AUTHORIZATION=f"Bearer {settings.HEALTH_TOKEN}")

    assert with_token.status_code == 200
    assert {"archiving", "backups", "status", "problems"} <= set(with_token.json())


def test_staff_see_the_last_backup_age_and_a_stale_one_degrades(client, org_a, settings, tmp_path):
    settings.BACKUP_DIR = tmp_path
    settings.BACKUP_MAX_AGE_HOURS = 26
    client.force_login(factories.make_member(org_a, "sales_rep", is_staff=True))

    write_backup(tmp_path, datetime.now(UTC) - timedelta(hours=30))
    stale = client.get("/healthz?full=1").json()
    write_backup(tmp_path, datetime.now(UTC) - timedelta(minutes=5))
    fresh = client.get("/healthz?full=1").json()

    assert stale["status"] == "degraded"
    assert "no base backup in the last 26 h" in stale["problems"]
    assert 290 <= fresh["backups"]["last_backup_age_seconds"] <= 330
    assert "no base backup in the last 26 h" not in fresh["problems"]
    assert {"failed_count", "last_failed_time", "last_archived_time"} <= set(fresh["archiving"])


def test_db_report_shows_backups_and_archiving(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path
    write_backup(tmp_path, datetime.now(UTC) - timedelta(hours=2))
    out = io.StringIO()

    call_command("db_report", "--limit", "1", stdout=out)

    text = out.getvalue()
    assert "Backups and WAL archiving" in text
    assert "last base backup: 2.0 h ago" in text
    assert "archive_mode=" in text and "failed=" in text


@pytest.mark.skipif(
    not str(settings.DATABASES["default"]["HOST"] or "").startswith("/"),
    reason="the embedded server (make run) only: it listens on a socket",
)
def test_the_embedded_server_archives_its_wal_into_the_backup_directory():
    with connection.cursor() as cursor:
        report = backups.health(cursor, settings.BACKUP_DIR, 26)
    assert report["archiving"]["archive_mode"] == "on"
    assert not report["archiving"]["failing"]
    assert backups.wal_dir(settings.BACKUP_DIR).is_dir()
