"""The `archiving`, `backup`, `backups`, `restore --to --into`, `verify` and
`upgrade-drill` commands of smartweb.ops: what they print. The work is in
smartweb.backups, smartweb.recovery and smartweb.upgrade_drill."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from smartweb import backups, clusters, recovery, upgrade_drill
from smartweb.management.commands.db_report import _size
from smartweb.ops import OpsError


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def run(args: argparse.Namespace) -> int:
    root = args.backup_dir or backups.backup_dir()
    if args.command == "archiving":
        for name, value in backups.archiving_settings(args.wal_dir.resolve()).items():
            quoted = value.replace("'", "''")
            _out(f"ALTER SYSTEM SET {name} = '{quoted}';")
    elif args.command == "backup":
        began = time.monotonic()
        backup = backups.take(args.database, root)
        _out(
            f"Base backup {backup.label} in {backup.path}: {_size(backup.size)},"
            f" WAL from {backup.start_wal}, {time.monotonic() - began:.1f} s"
        )
    elif args.command == "backups":
        listing(root)
    elif args.command == "restore":
        restore(args, root)
    elif args.command == "upgrade-drill":
        return upgrade_report(upgrade_drill.rehearse(args.database, args.to, args.method))
    else:
        began = time.monotonic()
        verification = recovery.verify(root, args.database)
        report(verification, time.monotonic() - began)
        return 1 if verification.problems else 0
    return 0


def listing(root) -> None:
    found = backups.listed(root)
    if not found:
        _out(f"No base backup in {root}.")
        return
    now = datetime.now(UTC)
    _out(f"{'backup':<24} {'age':>8} {'size':>10}  WAL range / restorable moments")
    for backup in found:
        cover = backups.coverage(backup, root)
        age = _age((now - backup.finished_at).total_seconds())
        wal = f"{cover.first_wal}..{cover.last_wal}"
        _out(f"{backup.label:<24} {age:>8} {_size(backup.size):>10}  {wal}")
        _out(f"{'':<45}{cover.describe().split(': ', 1)[1]}")


def restore(args: argparse.Namespace, root) -> None:
    if not (args.to and args.into):
        raise OpsError("restore needs a dump FILE and --database, or --to TIME and --into DIR.")
    began = time.monotonic()
    cluster = recovery.restore(args.to, args.into, root)
    as_user = f" (as the system user {cluster.user})" if cluster.user else ""
    _out(f"Restored into {cluster.datadir}: it recovers to {args.to.isoformat()}, then promotes.")
    if args.start:
        cluster.start()
        seconds = time.monotonic() - began
        _out(f"Started{as_user} on 127.0.0.1:{cluster.port} after {seconds:.1f} s.")
    else:
        _out(f"Start it{as_user}: {cluster.shell_line(*cluster.start_args())}")
        _out(f"It listens on 127.0.0.1:{cluster.port} and does not archive.")
    _out(f"Stop it: {cluster.shell_line(*clusters.STOP_ARGS)}")


def report(verification: recovery.Verification, seconds: float) -> None:
    _out(
        f"Backup {verification.backup} restored and started in a scratch cluster ({seconds:.1f} s)"
    )
    _out(f"  applied migrations: {verification.migrations}")
    _out(f"  tenant tables with forced row level security: {verification.tenant_tables}")
    _out(f"  rows: {sum(verification.rows.values()):,} in {len(verification.rows)} tables")
    for table, count in verification.rows.items():
        _out(f"    {table:<45} {count:>10,}")
    for problem in verification.problems:
        _out(f"  PROBLEM: {problem}")
    _out("OK" if not verification.problems else "FAILED")


def upgrade_report(rehearsal: upgrade_drill.Rehearsal) -> int:
    after = rehearsal.after
    _out(
        f"A copy of this PostgreSQL {rehearsal.from_major} server upgraded to"
        f" {rehearsal.to_major} by {rehearsal.method}, checked and removed:"
    )
    for step, seconds in rehearsal.seconds.items():
        _out(f"  {step:<34} {seconds:>7.1f} s")
    _out(f"  applied migrations: {after.migrations}")
    _out(f"  tenant tables with forced row level security: {after.tenant_tables}")
    _out(f"  rows: {sum(after.rows.values()):,} in {len(after.rows)} tables, as before")
    for problem in rehearsal.problems:
        _out(f"  PROBLEM: {problem}")
    _out("OK" if not rehearsal.problems else "FAILED")
    return 1 if rehearsal.problems else 0
