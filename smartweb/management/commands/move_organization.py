"""manage.py move_organization ORG --from BACKUP_URL --to OWNER_URL"""

import shutil
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from smartweb.ops import OpsError
from smartweb.orgmove import export, load


class Command(BaseCommand):
    help = (
        "export_organization then import_organization through a scratch directory that is"
        " removed afterwards: from the source's backup role to the target's owner role."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="Its id or slug.")
        parser.add_argument("--from", dest="source", required=True, help="The backup role's URL.")
        parser.add_argument("--to", dest="target", required=True, help="The owner role's URL.")

    def handle(self, *args, **options):
        scratch = Path(tempfile.mkdtemp(prefix="smartweb-move-"))
        try:
            manifest = export.export(options["source"], options["organization"], scratch / "org")
            loaded = load.load(scratch / "org", options["target"])
        except OpsError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.stdout.write(
            f"Moved {loaded.organization}: {sum(loaded.rows.values())} rows, export"
            f" {manifest['seconds']} s, import {loaded.seconds} s; counts and checksums verified."
            " The source still holds it."
        )
