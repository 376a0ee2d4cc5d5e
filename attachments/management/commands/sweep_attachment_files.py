"""manage.py sweep_attachment_files [--grace-hours N] [--dry-run]"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from attachments import sweep


class Command(BaseCommand):
    help = (
        "Remove stored attachment files that no attachment row names (a crash between a"
        " file and its row, a removal the storage refused, an organization deleted) once"
        " older than the grace period; report rows whose file is missing. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-hours",
            type=int,
            default=int(sweep.DEFAULT_GRACE.total_seconds() // 3600),
            help="Keep files younger than this, whatever names them (default: 24).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report, remove nothing.")

    def handle(self, *args, **options):
        if options["grace_hours"] < 1:
            raise CommandError(
                "--grace-hours must be 1 or more: an upload in progress has a file before its row."
            )
        verb = "would remove" if options["dry_run"] else "removed"
        folders = sweep.sweep(
            grace=dt.timedelta(hours=options["grace_hours"]), dry_run=options["dry_run"]
        )
        for folder in folders:
            gone = "" if folder.organization_exists else " (organization gone)"
            self.stdout.write(
                f"{folder.organization}{gone}: {verb} {len(folder.removed)} files no row names,"
                f" kept {folder.kept_recent} recent, {len(folder.missing)} rows name a missing file"
            )
            for name in folder.missing:
                self.stdout.write(f"  missing: {name}")
        total = sum(len(folder.removed) for folder in folders)
        self.stdout.write(f"{len(folders)} organization folders: {verb} {total} files.")
