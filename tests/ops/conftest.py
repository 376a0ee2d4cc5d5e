"""A second server beside the one the tests use, of the same major version, with WAL
archiving on (the test server cannot turn it on without a restart): its own cluster
(initdb) on a free port, the roles of smartweb.db_bootstrap, the test database's schema
(a dump of it, restored: replaying every migration would take minutes), and a base
backup. Everything is stopped and removed at the end of the module, whatever happened."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from smartweb import backups, clusters, ops, recovery
from smartweb.db_bootstrap import RoleURLs, bootstrap, with_database


@dataclass
class ArchivingServer:
    cluster: clusters.Cluster
    admin: str  # the superuser's URL, database smartweb
    roles: RoleURLs
    backup_dir: Path
    scratch: Path

    def switch_wal(self) -> None:
        """Close the current WAL segment and wait until it is archived."""
        with psycopg.connect(self.admin, autocommit=True) as conn:
            segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
            deadline = time.monotonic() + 30
            while (
                conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
                != segment
            ):
                assert time.monotonic() < deadline, f"{segment} not archived within 30 s"
                time.sleep(0.2)

    def restore(self, moment, name: str) -> clusters.Cluster:
        """Restore into a new directory of the scratch space and start it; removed with it."""
        restored = recovery.restore(moment, self.scratch / name, self.backup_dir)
        self.restored.append(restored)
        restored.start()
        restored.wait_until_promoted(clusters.with_address(self.roles.backup, restored.port))
        return restored

    def __post_init__(self):
        self.restored: list[clusters.Cluster] = []


@pytest.fixture(scope="module")
def archiving_server(django_db_setup, tmp_path_factory) -> ArchivingServer:
    major = ops.server_major_version(settings.DATABASE_OWNER_URL)
    scratch = Path(tempfile.mkdtemp(prefix="smartweb-drill-"))
    user = clusters.system_user()
    backup_dir = scratch / "backups"
    backups.wal_dir(backup_dir).mkdir(parents=True)
    clusters.hand_over(scratch, user)
    password = secrets.token_urlsafe(16)
    cluster = clusters.initdb(scratch / "data", major, password, user)
    server = None
    try:
        clusters.append_settings(
            cluster.datadir, backups.archiving_settings(backups.wal_dir(backup_dir)), "drill"
        )
        cluster.start()
        roles = bootstrap(cluster.url(password))
        schema = tmp_path_factory.mktemp("schema") / "test.dump"
        test_database = settings.DATABASES["default"]["NAME"]
        ops.dump(with_database(os.environ["DATABASE_BACKUP_URL"], test_database), schema)
        ops.restore(schema, roles.owner)
        server = ArchivingServer(
            cluster, cluster.url(password, dbname="smartweb"), roles, backup_dir, scratch
        )
        backups.take(roles.backup, backup_dir)
        yield server
    finally:
        for restored in server.restored if server else []:
            restored.remove()
        cluster.remove()
        shutil.rmtree(scratch, ignore_errors=True)
