"""Base backups and the WAL archive, with PostgreSQL's own tools (docs/decisions/0022).

The backup directory (BACKUP_DIR, default var/backups) holds

    wal/                    every WAL segment the server archived (its archive_command)
    base/<UTC time>/        a base backup: pg_basebackup's tar format (base.tar,
                            pg_wal.tar, backup_manifest) and backup.json (when it was
                            taken, by the server's clock, and the WAL it starts and ends at)

A base backup plus the archived WAL that follows it, without a gap, restores to any
moment from the end of the backup to the last transaction archived.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from smartweb.db_bootstrap import BASE_DIR
from smartweb.ops import OpsError, _run, program, server_major_version

SEGMENT_NAME = re.compile(r"^[0-9A-F]{24}$")
# pg_waldump prints a transaction's end as "desc: COMMIT 2026-12-03 15:20:01.123456 UTC".
TRANSACTION_END = re.compile(
    r"desc: (?:COMMIT|ABORT) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC"
)
ARCHIVE_TIMEOUT = "5min"


def backup_dir() -> Path:
    return Path(os.environ.get("BACKUP_DIR") or BASE_DIR / "var" / "backups")


def wal_dir(root: Path) -> Path:
    return root / "wal"


def _shell_path(path: Path) -> str:
    # PostgreSQL expands %-escapes in the command first: a literal % is written %%.
    return shlex.quote(str(path)).replace("%", "%%")


def archive_command(wal: Path) -> str:
    """Copy a finished segment into `wal`. A segment already there is a retry after a
    crash: success if it is the same file, failure (never an overwrite) if it differs.
    The copy is synced and renamed into place, so a crash never leaves half a segment."""
    target = f'{_shell_path(wal)}/"%f"'
    return (
        f'f={target}; if [ -e "$f" ]; then cmp -s "%p" "$f"; '
        f'else cp "%p" "$f.part" && sync "$f.part" && mv "$f.part" "$f"; fi'
    )


def restore_command(wal: Path) -> str:
    return f'cp {_shell_path(wal)}/"%f" "%p"'


def archiving_settings(wal: Path) -> dict[str, str]:
    """The server settings that archive every WAL segment into `wal` (archive_mode needs a
    restart); archive_timeout bounds what a quiet server leaves unarchived."""
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": archive_command(wal),
        "archive_timeout": ARCHIVE_TIMEOUT,
    }


@dataclass
class Backup:
    label: str
    major: int
    started_at: datetime
    finished_at: datetime
    timeline: int
    start_wal: str
    end_wal: str
    segment_size: int
    path: Path | None = None

    @property
    def size(self) -> int:
        return sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())

    def to_json(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if k != "path"}
        for key in ("started_at", "finished_at"):
            fields[key] = fields[key].isoformat()
        return json.dumps(fields, indent=2)

    @classmethod
    def read(cls, path: Path) -> Backup:
        fields = json.loads((path / "backup.json").read_text())
        for key in ("started_at", "finished_at"):
            fields[key] = datetime.fromisoformat(fields[key])
        return cls(**fields, path=path)


def segment_name(timeline: int, lsn: int, segment_size: int) -> str:
    number = lsn // segment_size
    per_id = 0x100000000 // segment_size
    return f"{timeline:08X}{number // per_id:08X}{number % per_id:08X}"


def _segment_number(name: str, segment_size: int) -> int:
    return int(name[8:16], 16) * (0x100000000 // segment_size) + int(name[16:24], 16)


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _server_facts(url: str) -> tuple[datetime, int]:
    with psycopg.connect(url, connect_timeout=10) as conn:
        return conn.execute(
            "SELECT clock_timestamp(), setting::bigint FROM pg_settings"
            " WHERE name = 'wal_segment_size'"
        ).fetchone()


def take(url: str, root: Path) -> Backup:
    """A base backup of the server at `url` (a role with REPLICATION), now."""
    major = server_major_version(url)
    started_at, segment_size = _server_facts(url)
    label = started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    partial = root / "base" / f"{label}.partial"
    partial.mkdir(parents=True)
    try:
        command = [program("pg_basebackup", major), f"--pgdata={partial}", "--format=tar"]
        flags = ["--wal-method=stream", "--checkpoint=fast", "--no-password", f"--label={label}"]
        _run([*command, *flags], url)
        finished_at, _ = _server_facts(url)
        wal_range = json.loads((partial / "backup_manifest").read_text())["WAL-Ranges"][0]
        timeline = wal_range["Timeline"]
        backup = Backup(
            label=label,
            major=major,
            started_at=started_at,
            finished_at=finished_at,
            timeline=timeline,
            start_wal=segment_name(timeline, _lsn(wal_range["Start-LSN"]), segment_size),
            end_wal=segment_name(timeline, _lsn(wal_range["End-LSN"]), segment_size),
            segment_size=segment_size,
        )
        (partial / "backup.json").write_text(backup.to_json())
        final = partial.with_name(label)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    backup.path = final
    return backup


def listed(root: Path) -> list[Backup]:
    """The finished base backups, oldest first."""
    base = root / "base"
    if not base.is_dir():
        return []
    found = [Backup.read(p) for p in base.iterdir() if (p / "backup.json").is_file()]
    return sorted(found, key=lambda b: b.finished_at)


def covered_wal(backup: Backup, root: Path) -> tuple[str, str]:
    """The first and last WAL segments this backup can replay without a gap: its own (in
    pg_wal.tar) and then the archive's."""
    size = backup.segment_size
    archived = {
        _segment_number(p.name, size)
        for p in wal_dir(root).glob(f"{backup.timeline:08X}*")
        if SEGMENT_NAME.match(p.name)
    }
    last = _segment_number(backup.end_wal, size)
    while last + 1 in archived:
        last += 1
    per_id = 0x100000000 // size
    return backup.start_wal, f"{backup.timeline:08X}{last // per_id:08X}{last % per_id:08X}"


def last_transaction_time(backup: Backup, root: Path, last_segment: str) -> datetime | None:
    """When the last transaction in the archived WAL up to `last_segment` ended (the
    latest moment recovery can stop at); None if none ended after the backup."""
    pg_waldump = program("pg_waldump", backup.major)
    size = backup.segment_size
    number = _segment_number(last_segment, size)
    per_id = 0x100000000 // size
    env = {**os.environ, "TZ": "UTC"}
    while number >= _segment_number(backup.end_wal, size):
        name = f"{backup.timeline:08X}{number // per_id:08X}{number % per_id:08X}"
        segment = wal_dir(root) / name
        if not segment.exists():
            return None
        # It stops with an error at the end of the written WAL: the output is what counts.
        dumped = subprocess.run(
            [pg_waldump, "--rmgr=Transaction", str(segment)],
            capture_output=True,
            text=True,
            env=env,
        )
        ends = TRANSACTION_END.findall(dumped.stdout)
        if ends:
            moment = datetime.fromisoformat(ends[-1]).replace(tzinfo=UTC)
            return moment if moment >= backup.finished_at else None
        number -= 1
    return None


@dataclass
class Coverage:
    backup: Backup
    first_wal: str
    last_wal: str
    earliest: datetime
    latest: datetime | None

    def offers(self, moment: datetime) -> bool:
        return self.latest is not None and self.earliest <= moment <= self.latest

    def describe(self) -> str:
        if self.latest is None:
            return f"backup {self.backup.label}: its own end only (no archived transaction after)"
        earliest, latest = (m.astimezone(UTC).isoformat() for m in (self.earliest, self.latest))
        return f"backup {self.backup.label}: {earliest} to {latest}"


def coverage(backup: Backup, root: Path) -> Coverage:
    first, last = covered_wal(backup, root)
    latest = last_transaction_time(backup, root, last)
    return Coverage(backup, first, last, backup.finished_at, latest)


def choose(moment: datetime, root: Path) -> Coverage:
    """The latest base backup that restores to `moment`, or an error naming what can be."""
    backups = listed(root)
    if not backups:
        raise OpsError(f"No base backup in {root}: take one with `python -m smartweb.ops backup`.")
    coverages = [coverage(b, root) for b in reversed(backups) if b.finished_at <= moment]
    for candidate in coverages:
        if candidate.offers(moment):
            return candidate
    offered = "\n  ".join(coverage(b, root).describe() for b in backups)
    raise OpsError(
        f"{moment.isoformat()} is outside the archived range. Restorable moments:\n  {offered}"
    )


def archiver_status(url: str) -> dict:
    """pg_stat_archiver: failing when the last failure is later than the last success."""
    with psycopg.connect(url, connect_timeout=10) as conn, conn.cursor() as cursor:
        return archiver_status_from(cursor)


def archiver_status_from(cursor) -> dict:
    """The same, with a cursor of psycopg or of Django."""
    cursor.execute(
        "SELECT archived_count, failed_count, last_archived_time, last_failed_time,"
        " current_setting('archive_mode') FROM pg_stat_archiver"
    )
    archived, failed, last_archived, last_failed, mode = cursor.fetchone()
    failing = last_failed is not None and (last_archived is None or last_failed > last_archived)
    return {
        "archive_mode": mode,
        "archived_count": archived,
        "failed_count": failed,
        "last_archived_time": last_archived.isoformat() if last_archived else None,
        "last_failed_time": last_failed.isoformat() if last_failed else None,
        "failing": failing,
    }


def last_backup_age(root: Path) -> float | None:
    """Seconds since the newest base backup finished (this machine's clock)."""
    backups = listed(root)
    if not backups:
        return None
    return max(0.0, time.time() - backups[-1].finished_at.timestamp())


def health(cursor, root: Path, max_age_hours: float) -> dict:
    """The last base backup's age and the WAL archiver's state, for /healthz?full=1 and
    db_report. `status` is "degraded" when WAL archiving is off or failing, or the last
    backup is older than `max_age_hours` (or missing) in a backup directory this machine
    sees; a machine without it reports the archiver only."""
    archiving = archiver_status_from(cursor)
    problems = []
    if archiving["archive_mode"] == "off":
        problems.append("WAL archiving is off")
    if archiving["failing"]:
        problems.append(f"archive_command failing since {archiving['last_failed_time']}")
    report = {"archiving": archiving, "backups": {"dir_visible": root.is_dir()}}
    if root.is_dir():
        age = last_backup_age(root)
        report["backups"]["last_backup_age_seconds"] = None if age is None else round(age)
        if age is None or age > max_age_hours * 3600:
            problems.append(f"no base backup in the last {max_age_hours:g} h")
    report["status"] = "degraded" if problems else "ok"
    report["problems"] = problems
    return report
