"""manage.py import_organization DIR [--database URL]"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from smartweb.ops import OpsError
from smartweb.orgmove import load


class Command(BaseCommand):
    help = (
        "Import an organization written by export_organization, in one transaction, as the"
        " owner role: refused before writing when the migrations differ or the organization"
        " is already there; every table's count and checksum verified before commit."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument(
            "--database",
            default=settings.DATABASE_OWNER_URL,
            help="The owner role's (or a superuser's) URL (default: DATABASE_OWNER_URL).",
        )

    def handle(self, *args, **options):
        if not options["database"]:
            raise CommandError("Name the target with --database or DATABASE_OWNER_URL.")
        try:
            loaded = load.load(Path(options["directory"]), options["database"])
        except OpsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Imported {loaded.organization}: {sum(loaded.rows.values())} rows in"
            f" {len(loaded.rows)} tables, {loaded.users_created} users created,"
            f" {loaded.users_linked} linked by email, {loaded.files_written} files written,"
            f" {loaded.seconds} s; counts and checksums verified."
        )
