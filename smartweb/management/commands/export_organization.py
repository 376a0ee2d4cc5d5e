"""manage.py export_organization ORG --to DIR [--database URL]"""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from smartweb.ops import OpsError
from smartweb.orgmove import export


class Command(BaseCommand):
    help = (
        "Write every row of one organization (tenant tables, history and audit included, the"
        " users its rows name) into DIR: one COPY file per table and a manifest.json with the"
        " migration state, row counts and checksums. Reads as the backup role."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="Its id or slug.")
        parser.add_argument("--to", required=True, help="A new or empty directory.")
        parser.add_argument(
            "--database",
            default=os.environ.get("DATABASE_BACKUP_URL"),
            help="The backup role's URL (default: DATABASE_BACKUP_URL).",
        )

    def handle(self, *args, **options):
        if not options["database"]:
            raise CommandError("Name the source with --database or DATABASE_BACKUP_URL.")
        try:
            manifest = export.export(
                options["database"], options["organization"], Path(options["to"])
            )
        except OpsError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(table["rows"] for table in manifest["tables"])
        self.stdout.write(
            f"Exported {manifest['organization']['slug']}: {rows} rows in"
            f" {len(manifest['tables'])} tables, {manifest['users']['rows']} users,"
            f" {len(manifest['files']['files'])} files, {manifest['seconds']} s, into"
            f" {options['to']}."
        )
        for name in manifest["files"]["missing"]:
            self.stderr.write(f"Missing from the storage, its row exported all the same: {name}")
