"""Point-in-time recovery into a NEW cluster, and the check that a backup restores.

`restore` never touches the running server: it unpacks a base backup into an empty
directory and configures it to replay the archived WAL (restore_command) up to the moment
asked (recovery_target_time), then promote. The copy listens on its own port of
127.0.0.1 and does not archive (it would write a second history into the same archive).

`verify` restores the latest backup to the end of the archive in a scratch directory,
starts it, checks what the application needs (migrations, roles, forced row level
security, rows) and removes it.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from smartweb import backups, clusters
from smartweb.db_bootstrap import BACKUP_ROLE, OWNER_ROLE, RUNTIME_ROLE, SEARCH_ROLE
from smartweb.management.commands.db_report import UNPROTECTED
from smartweb.ops import OpsError

# A data directory whose configuration lives elsewhere (Debian keeps it in /etc) gets the
# smallest one that starts: password logins from this machine only.
MINIMAL_HBA = (
    "local all all peer\n"
    "host all all 127.0.0.1/32 scram-sha-256\n"
    "host all all ::1/128 scram-sha-256\n"
)


def _empty_or_new(into: Path) -> None:
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise OpsError(f"{into} exists and is not empty: restore into a new directory.")


def _unpack(backup: backups.Backup, into: Path) -> None:
    into.mkdir(mode=0o700, parents=True, exist_ok=True)
    into.chmod(0o700)
    with tarfile.open(backup.path / "base.tar") as base:
        base.extractall(into, filter="tar")
    with tarfile.open(backup.path / "pg_wal.tar") as wal:
        wal.extractall(into / "pg_wal", filter="tar")
    for name, text in (
        ("postgresql.conf", ""),
        ("pg_hba.conf", MINIMAL_HBA),
        ("pg_ident.conf", ""),
    ):
        if not (into / name).exists():
            (into / name).write_text(text)


def restore(moment: datetime | None, into: Path, root: Path) -> clusters.Cluster:
    """A cluster in `into` that recovers to `moment` (None: to the end of the archive)
    when started; returned stopped."""
    _empty_or_new(into)
    if moment is None:
        listed = backups.listed(root)
        if not listed:
            raise OpsError(
                f"No base backup in {root}: take one with `python -m smartweb.ops backup`."
            )
        backup = listed[-1]
    else:
        backup = backups.choose(moment, root).backup
    _unpack(backup, into)
    port = clusters.free_port()
    settings = {
        "restore_command": backups.restore_command(backups.wal_dir(root)),
        "recovery_target_timeline": "current",
        "archive_mode": "off",
        "port": str(port),
        "listen_addresses": "127.0.0.1",
    }
    if moment is not None:
        settings.update(recovery_target_time=moment.isoformat(), recovery_target_action="promote")
    clusters.append_settings(into, settings, f"restored from backup {backup.label}")
    (into / "recovery.signal").touch()
    user = clusters.system_user(backups.wal_dir(root))
    clusters.hand_over(into, user)
    return clusters.Cluster(into, backup.major, port, user)


@dataclass
class Verification:
    backup: str
    migrations: int = 0
    tenant_tables: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def check(url: str, verification: Verification) -> None:
    """What the application needs of a restored database, read as the backup role."""
    problems = verification.problems
    with psycopg.connect(url) as conn:
        verification.migrations = conn.execute("SELECT count(*) FROM django_migrations").fetchone()[
            0
        ]
        if not verification.migrations:
            problems.append("no applied migration")
        roles = dict(
            conn.execute(
                "SELECT rolname, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = ANY(%s)",
                [[OWNER_ROLE, RUNTIME_ROLE, SEARCH_ROLE, BACKUP_ROLE]],
            ).fetchall()
        )
        for role in (OWNER_ROLE, RUNTIME_ROLE, SEARCH_ROLE, BACKUP_ROLE):
            if role not in roles:
                problems.append(f"role {role} missing")
        if roles.get(RUNTIME_ROLE) or roles.get(OWNER_ROLE):
            problems.append("the runtime or owner role bypasses row level security")
        verification.tenant_tables = conn.execute(
            "SELECT count(DISTINCT attrelid) FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE nspname = 'public' AND relkind IN ('r', 'p') AND attname = 'organization_id'"
        ).fetchone()[0]
        for name, enabled, forced, policy in conn.execute(UNPROTECTED).fetchall():
            problems.append(f"{name}: RLS enabled={enabled} forced={forced} policy={policy}")
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        for (table,) in tables:
            count = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            verification.rows[table] = conn.execute(count).fetchone()[0]


def verify(root: Path, url: str) -> Verification:
    """Restore the latest backup to the end of the archive, start it, check it, remove it.
    `url`: the backup role's (its credentials are the restored cluster's too)."""
    scratch = Path(tempfile.mkdtemp(prefix="smartweb-verify-"))
    cluster = None
    try:
        clusters.hand_over(scratch, clusters.system_user(backups.wal_dir(root)))
        cluster = restore(None, scratch / "data", root)
        verification = Verification(backup=backups.listed(root)[-1].label)
        cluster.start()
        probe = clusters.with_address(url, cluster.port)
        cluster.wait_until_promoted(probe)
        check(probe, verification)
        return verification
    finally:
        if cluster is not None:
            cluster.remove()
        shutil.rmtree(scratch, ignore_errors=True)
