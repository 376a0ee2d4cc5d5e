"""An organization moved between two real clusters: exported from the test database as
the backup role, imported into the drill server's database as its owner role. Every
tenant table's rows of that organization arrive as they left (a member whose email the
target already knows is linked, not duplicated), the other organizations on both sides
keep every row, the attachment files arrive in the target's storage, and the bad imports
(organization already there, another migration state, a tampered file) are refused with
nothing written."""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from psycopg import sql

from crm import rollups
from smartweb.db_bootstrap import with_database
from smartweb.ops import OpsError
from smartweb.orgmove import catalog, export, load
from tests.attachments.conftest import stored_files
from tests.attachments.factories import attach
from tests.conftest import _as_owner
from tests.ops.tenant_rows import NEW_ORGANIZATION, add_teams

TENANT_TABLES = (
    "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"
    " AND a.attname = 'organization_id' AND NOT a.attisdropped ORDER BY 1"
)
LINKED_EMAIL = "Rep@Northwind.smartweb.test"  # rep@northwind.smartweb.test, another case


@contextmanager
def storage_at(root):
    """The default storage on the file system under `root`: one deployment's files."""
    storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    storage["OPTIONS"] = {"location": root, "base_url": None}
    with override_settings(STORAGES={**settings.STORAGES, "default": storage}):
        yield


@pytest.fixture(scope="module")
def source_media(tmp_path_factory):
    return tmp_path_factory.mktemp("source-media")


@pytest.fixture(scope="module")
def demo(archiving_server, django_db_blocker, source_media):
    """The demo organizations in the test database (after the drill server copied its
    schema), with an audit event, an object grant and an attachment in each besides what
    seed_demo writes; their files in `source_media`."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from accounts.audit import record_audit_event
    from accounts.models import Organization, User, UserObjectGrant
    from leads.models import Lead
    from smartweb.tenancy.context import tenant_context

    with django_db_blocker.unblock():
        call_command("seed_demo", verbosity=0)
        northwind = Organization.objects.get(slug="northwind")
        admin = User.objects.get(email="admin@northwind.smartweb.test")
        with tenant_context(northwind, user=admin):
            record_audit_event(action="data.export", details={"why": "move test"})
            UserObjectGrant.objects.create(
                organization=northwind,
                user=User.objects.get(email="rep@northwind.smartweb.test"),
                permission=Permission.objects.get(codename="view_lead"),
                content_type=ContentType.objects.get_for_model(Lead),
                object_pk=str(Lead.objects.first().pk),
            )
        with storage_at(source_media):
            for organization in Organization.objects.filter(slug__in=["northwind", "demo"]):
                with tenant_context(organization):
                    lead = Lead.objects.order_by("pk").first()
                attach(organization, lead, name=f"{organization.slug}-quote.pdf")
        yield
        with _as_owner():
            call_command("flush", interactive=False, verbosity=0)


def source_url() -> str:
    return with_database(os.environ["DATABASE_BACKUP_URL"], settings.DATABASES["default"]["NAME"])


def organization_id(url: str, slug: str) -> uuid.UUID | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM accounts_organization WHERE slug = %s", [slug])
        return (row.fetchone() or [None])[0]


def snapshot(url: str, organization: uuid.UUID) -> dict[str, list]:
    """Every tenant table's rows of the organization, read past row level security. The
    rollups are left out: a move does not carry them, the target's triggers count the
    facts as they arrive (`rollups_differences`)."""
    with psycopg.connect(url) as conn:
        conn.execute("SET TimeZone = 'UTC'")  # the same tzinfo, so the same sort order
        tables = [row[0] for row in conn.execute(TENANT_TABLES) if not row[0].endswith("rollup")]
        return {
            table: sorted(
                conn.execute(
                    sql.SQL("SELECT * FROM {} WHERE organization_id = %s").format(
                        sql.Identifier(table)
                    ),
                    [organization],
                ).fetchall(),
                key=repr,
            )
            for table in tables
        }


def rollups_differences(url: str, organization: uuid.UUID) -> dict[str, list]:
    """The organization's rollup rows that differ from their recomputation from its facts."""
    with psycopg.connect(url) as conn:
        return {
            rollup.table: conn.execute(rollup.differences_sql(), [organization] * 4).fetchall()
            for rollup in rollups.ROLLUPS
        }


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(TENANT_TABLES)]
        tables += ["accounts_organization", "accounts_user"]
        return {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in tables
        }


def replaced(rows: dict[str, list], old, new) -> dict[str, list]:
    """The rows with every value `old` (a user id: uuids are unique) read as `new`."""
    return {
        table: sorted((tuple(new if v == old else v for v in row) for row in found), key=repr)
        for table, found in rows.items()
    }


def test_an_organization_moves_whole_and_the_others_stay_untouched(
    demo, archiving_server, tmp_path, source_media
):
    source, target = source_url(), archiving_server.admin
    northwind, other_source = organization_id(source, "northwind"), organization_id(source, "demo")
    # The target already has an organization of its own, and an account of a northwind rep.
    resident, linked = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(target) as conn:
        conn.execute(NEW_ORGANIZATION, {"id": resident, "name": "resident"})
        conn.execute(
            "INSERT INTO accounts_user (id, password, email, full_name, is_superuser, is_active,"
            " is_staff, date_joined) VALUES (%s, '!', %s, 'Resident Rep', false, true, false,"
            " now())",
            [linked, LINKED_EMAIL],
        )
    add_teams(archiving_server.roles.runtime, resident, "resident-team")
    before = {
        "source": snapshot(source, northwind),
        "other source": snapshot(source, other_source),
        "resident": snapshot(target, resident),
    }

    # Each side a deployment of its own: the files go from one storage to the other.
    target_media = tmp_path / "target-media"
    with storage_at(source_media):
        call_command(
            "export_organization", "northwind", "--to", str(tmp_path / "nw"), "--database", source
        )
    with storage_at(target_media):
        call_command(
            "import_organization", str(tmp_path / "nw"), "--database", archiving_server.roles.owner
        )

    manifest = load.read_manifest(tmp_path / "nw")
    exported = {entry["name"] for entry in manifest["tables"]}
    assert set(before["source"]) <= exported, "a tenant table is not exported"
    for table in ("leads_lead", "leads_historicallead", "audit_logs", "accounts_userobjectgrant"):
        assert before["source"][table], f"the demo data has no {table} row to move"
    with psycopg.connect(source) as conn:
        old_rep = conn.execute(
            "SELECT id FROM accounts_user WHERE email = 'rep@northwind.smartweb.test'"
        ).fetchone()[0]
    moved, expected = snapshot(target, northwind), replaced(before["source"], old_rep, linked)
    imported = [row for row in moved["audit_logs"] if "organization.imported" in row]
    assert len(imported) == 1  # the one row the import adds, after its verification
    moved["audit_logs"].remove(imported[0])
    for table, rows in expected.items():
        assert moved[table] == rows, table
    with psycopg.connect(target) as conn:
        reps = conn.execute(
            "SELECT id FROM accounts_user WHERE lower(email) = 'rep@northwind.smartweb.test'"
        ).fetchall()
        assert reps == [(linked,)]  # linked to the existing account, not duplicated
        admin_default = conn.execute(
            "SELECT default_organization_id FROM accounts_user"
            " WHERE email = 'admin@northwind.smartweb.test'"
        ).fetchone()
        assert admin_default == (northwind,)
    (attachment,) = moved["attachments_attachment"]
    names = manifest_columns(tmp_path / "nw", "attachments_attachment")
    name = attachment[names.index("file")]
    assert name.startswith(f"attachments/{northwind}/")
    assert stored_files(target_media) == [name]
    assert (target_media / name).read_bytes() == (source_media / name).read_bytes()
    assert rollups_differences(target, northwind) == dict.fromkeys(
        (r.table for r in rollups.ROLLUPS), []
    )
    assert snapshot(source, northwind) == before["source"]
    assert snapshot(source, other_source) == before["other source"]
    assert snapshot(target, resident) == before["resident"]
    assert before["resident"]["accounts_team"]

    # A second import of the same organization is refused and writes nothing.
    unchanged = counts(target)
    with storage_at(target_media), pytest.raises(CommandError, match="northwind .* is already"):
        call_command(
            "import_organization", str(tmp_path / "nw"), "--database", archiving_server.roles.owner
        )
    assert counts(target) == unchanged
    assert stored_files(target_media) == [name]


def test_an_import_at_another_migration_state_or_with_a_changed_file_writes_nothing(
    demo, archiving_server, tmp_path, source_media
):
    directory = tmp_path / "demo"
    with storage_at(source_media):
        export.export(source_url(), "demo", directory)
    target = archiving_server.admin
    unchanged = counts(target)
    with psycopg.connect(target) as conn:
        dropped = conn.execute(
            "DELETE FROM django_migrations WHERE id = (SELECT max(id) FROM django_migrations)"
            " RETURNING id, app, name, applied"
        ).fetchone()
    try:
        with pytest.raises(OpsError, match=f"another migration state.*{dropped[1]}.{dropped[2]}"):
            load.load(directory, archiving_server.roles.owner)
    finally:
        with psycopg.connect(target) as conn:
            conn.execute("INSERT INTO django_migrations VALUES (%s, %s, %s, %s)", dropped)
    assert counts(target) == unchanged

    # An exported user's id held here by another account.
    with psycopg.connect(source_url()) as conn:
        admin = conn.execute(
            "SELECT id FROM accounts_user WHERE email = 'admin@demo.smartweb.test'"
        ).fetchone()[0]
    with psycopg.connect(target) as conn:
        conn.execute(
            "INSERT INTO accounts_user (id, password, email, full_name, is_superuser, is_active,"
            " is_staff, date_joined) VALUES (%s, '!', 'someone@else.test', '', false, true,"
            " false, now())",
            [admin],
        )
    try:
        with pytest.raises(OpsError, match="user ids of the export belong to other accounts"):
            load.load(directory, archiving_server.roles.owner)
        assert organization_id(target, "demo") is None
    finally:
        with psycopg.connect(target) as conn:
            conn.execute("DELETE FROM accounts_user WHERE id = %s", [admin])
    assert counts(target) == unchanged

    # Any file of the export changed after it, the users' one too: an edited password hash
    # (or any other change) is refused before anything is written.
    users = directory / "accounts_user.copy"
    original_users = users.read_text()
    column = load.read_manifest(directory)["users"]["columns"].index("password")
    first_hash = original_users.splitlines()[0].split("\t")[column]
    users.write_text(original_users.replace(first_hash, "pbkdf2_sha256$1$salt$forged", 1))
    with pytest.raises(OpsError, match="refused.*accounts_user.copy differs from the manifest"):
        load.load(directory, archiving_server.roles.owner)
    assert counts(target) == unchanged
    users.write_text(original_users)
    (directory / "extra.copy").write_text("")
    with pytest.raises(OpsError, match="extra.copy is not in the manifest"):
        load.load(directory, archiving_server.roles.owner)
    (directory / "extra.copy").unlink()

    # An exported file changed after the export, or the target's storage holding the name
    # with other content: refused once the rows are in, and everything rolls back.
    target_media = tmp_path / "target-media"
    (exported,) = load.read_manifest(directory)["files"]["files"]
    copy, held = directory / "files" / exported["name"], target_media / exported["name"]
    original = copy.read_bytes()
    copy.write_bytes(original + b"changed")
    with storage_at(target_media), pytest.raises(OpsError, match="differs from the manifest"):
        load.load(directory, archiving_server.roles.owner)
    assert counts(target) == unchanged and stored_files(target_media) == []
    copy.write_bytes(original)
    held.parent.mkdir(parents=True)
    held.write_bytes(b"another file")
    with storage_at(target_media), pytest.raises(OpsError, match="with other content"):
        load.load(directory, archiving_server.roles.owner)
    assert counts(target) == unchanged and held.read_bytes() == b"another file"

    # A row changed after the export, its file's checksum in the manifest changed with it:
    # the rows' checksum catches it, everything rolls back.
    companies = directory / "leads_company.copy"
    text = companies.read_text()
    first = text.splitlines()[0].split("\t")
    name = first[manifest_columns(directory, "leads_company").index("name")]
    companies.write_text(text.replace(name, name + " (changed)", 1))
    with pytest.raises(OpsError, match="refused.*leads_company.copy differs from the manifest"):
        load.load(directory, archiving_server.roles.owner)
    manifest_path = directory / export.MANIFEST
    manifest_text = manifest_path.read_text()
    manifest = json.loads(manifest_text)
    manifest["checksums"]["leads_company.copy"] = export.checksums(directory)["leads_company.copy"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(OpsError, match="rolled back, the copy differs: leads_company"):
        load.load(directory, archiving_server.roles.owner)
    assert counts(target) == unchanged
    manifest_path.write_text(manifest_text)
    (directory / "leads_lead.copy").unlink()
    with pytest.raises(OpsError, match="refused.*leads_lead.copy is missing"):
        load.load(directory, archiving_server.roles.owner)
    assert counts(target) == unchanged
    assert organization_id(target, "demo") is None

    # The source as it is now, in one command, once nothing stands in the way. Both sides
    # share this process's storage: the file is there already.
    with storage_at(source_media):
        call_command(
            "move_organization",
            "demo",
            "--from",
            source_url(),
            "--to",
            archiving_server.roles.owner,
        )
    demo_id = organization_id(source_url(), "demo")
    moved = snapshot(target, demo_id)
    assert {t: len(r) for t, r in snapshot(source_url(), demo_id).items()} == {
        t: len(r) - (t == "audit_logs") for t, r in moved.items()
    }


def test_an_import_into_a_database_not_migrated_yet_says_to_migrate_it_first(
    demo, archiving_server, tmp_path, source_media
):
    """A new database straight from the bootstrap has no schema: the refusal says so (it
    was PostgreSQL's "relation django_migrations does not exist")."""
    directory = tmp_path / "demo"
    with storage_at(source_media):
        export.export(source_url(), "demo", directory)
    with psycopg.connect(archiving_server.admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE not_migrated OWNER smartweb_owner")
    try:
        with pytest.raises(CommandError, match="no migration applied.*manage.py migrate"):
            call_command(
                "import_organization",
                str(directory),
                "--database",
                with_database(archiving_server.roles.owner, "not_migrated"),
            )
    finally:
        with psycopg.connect(archiving_server.admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE not_migrated")


def test_an_export_as_a_role_under_row_level_security_is_refused_and_writes_nothing(
    demo, archiving_server, tmp_path
):
    """The owner (FORCEd RLS) and the runtime role see no organization's rows, or only
    one's: their export would be an empty organization that imports "verified"."""
    database = settings.DATABASES["default"]["NAME"]
    unchanged = counts(archiving_server.admin)
    for variable in ("DATABASE_OWNER_URL", "DATABASE_URL"):
        wrong = with_database(os.environ[variable], database)
        with pytest.raises(CommandError, match="row level security.*DATABASE_BACKUP_URL"):
            call_command(
                "export_organization", "northwind", "--to", str(tmp_path / "x"), "--database", wrong
            )
        assert sorted(tmp_path.iterdir()) == []
        with pytest.raises(CommandError, match="row level security.*DATABASE_BACKUP_URL"):
            call_command(
                "move_organization", "northwind", "--from", wrong, "--to", archiving_server.admin
            )
        assert counts(archiving_server.admin) == unchanged


def manifest_columns(directory, table: str) -> list[str]:
    entries = load.read_manifest(directory)["tables"]
    return next(entry["columns"] for entry in entries if entry["name"] == table)


def test_an_export_names_an_existing_organization_and_a_new_directory(demo, tmp_path):
    with pytest.raises(OpsError, match="No organization 'nowhere'"):
        export.export(source_url(), "nowhere", tmp_path / "x")
    with pytest.raises(CommandError, match="No organization 'nowhere'"):
        call_command(
            "export_organization",
            "nowhere",
            "--to",
            str(tmp_path / "y" / "z"),
            "--database",
            source_url(),
        )
    assert sorted(tmp_path.iterdir()) == []  # a failed export leaves nothing behind
    (tmp_path / "empty").mkdir()
    with pytest.raises(OpsError, match="No organization 'nowhere'"):
        export.export(source_url(), "nowhere", tmp_path / "empty")
    assert sorted(tmp_path.iterdir()) == [tmp_path / "empty"]
    assert list((tmp_path / "empty").iterdir()) == []
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("")
    with pytest.raises(OpsError, match="not empty"):
        export.export(source_url(), "demo", tmp_path / "full")
    with pytest.raises(OpsError, match="not an organization export"):
        load.load(tmp_path / "full", os.environ["DATABASE_BACKUP_URL"])


def test_a_later_tenant_table_is_moved_in_order_and_an_unknown_global_reference_stops_it(
    archiving_server,
):
    with psycopg.connect(archiving_server.admin) as conn:  # rolled back: the schema stays
        conn.execute(
            "CREATE TABLE leads_probe (id uuid PRIMARY KEY, organization_id uuid NOT NULL,"
            " lead_id uuid NOT NULL, FOREIGN KEY (organization_id, lead_id)"
            " REFERENCES leads_lead (organization_id, id))"
        )
        order = [table.name for table in catalog.tenant_tables(conn)]
        assert order.index("leads_probe") > order.index("leads_lead")

        conn.execute("ALTER TABLE leads_probe ADD job_id bigint REFERENCES procrastinate_jobs")
        with pytest.raises(OpsError, match="leads_probe.job_id references procrastinate_jobs"):
            catalog.tenant_tables(conn)
        conn.rollback()
