"""The database bootstrap run by processes that start together (the web server and a
worker, two test runs) on a new server: each gets working URLs, and the roles end with
the passwords every one of them was given."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from smartweb import clusters, db_bootstrap, ops

STARTING_TOGETHER = 4


@pytest.fixture
def new_server():
    major = ops.server_major_version(settings.DATABASE_OWNER_URL)
    scratch = Path(tempfile.mkdtemp(prefix="smartweb-bootstrap-"))
    user = clusters.system_user()
    clusters.hand_over(scratch, user)
    password = secrets.token_urlsafe(16)
    cluster = clusters.initdb(scratch / "data", major, password, user)
    try:
        cluster.start()
        yield cluster.url(password)
    finally:
        cluster.remove()
        shutil.rmtree(scratch, ignore_errors=True)


def test_bootstraps_started_together_each_get_working_urls(new_server, tmp_path, monkeypatch):
    monkeypatch.setattr(db_bootstrap, "SECRETS_FILE", tmp_path / "db-roles.json")
    with ThreadPoolExecutor(STARTING_TOGETHER) as pool:
        results = list(pool.map(db_bootstrap.bootstrap, [new_server] * STARTING_TOGETHER))
    assert len(set(results)) == 1
    for url in (results[0].owner, results[0].runtime, results[0].backup):
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("smartweb",)
