"""manage.py import_leads FILE --organization ORG [--skip-bad-rows] [--map col=field …]
[--report REPORT.json] [--refused REFUSED.csv]"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from leads import csv_io
from leads.management.context import add_arguments, command_context


@contextmanager
def _output_file(path: str | None) -> Iterator[IO[str] | None]:
    """A file the command writes (the refused rows, the report), None without a path.
    Opened before the import, so that a path that cannot be written stops the command
    before it imports; removed when the import fails whole."""
    if not path:
        yield None
        return
    try:
        out = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115  (closed below)
    except OSError as exc:
        raise CommandError(f"Cannot write {path}: {exc.strerror}.") from exc
    try:
        with out:
            yield out
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = (
        "Import leads with their companies from a CSV file. Duplicates are reported and "
        "skipped; by default any bad row stops the import (nothing is written)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8).")
        add_arguments(parser)
        parser.add_argument(
            "--skip-bad-rows", action="store_true", help="Import the good rows anyway."
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="CSVCOLUMN=FIELD",
            help=f"Read a column as a field. Fields: {', '.join(csv_io.COLUMNS)}.",
        )
        parser.add_argument("--report", help="Write the full report here as JSON.")
        parser.add_argument(
            "--refused",
            metavar="FILE",
            help="Write the refused rows here as CSV, each with its row number and problems,"
            " to correct and import again (the admin's refused-rows download).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, **options):
        try:
            mapping = csv_io.parse_mapping(options["map"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            source = open(options["file"], "rb")  # noqa: SIM115  (closed below)
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}.") from exc
        bars: dict[str, tqdm] = {}

        def progress(stage: str, n: int) -> None:
            if stage not in bars:
                bars[stage] = tqdm(
                    desc=stage, unit="row", disable=options["no_progress"], file=self.stderr._out
                )
            bars[stage].update(n)

        try:
            with (
                source,
                _output_file(options["refused"]) as refused,
                _output_file(options["report"]) as report_file,
                command_context(options) as (organization, user),
            ):
                report = csv_io.import_leads(
                    source=source,
                    acting_user=user,
                    mapping=mapping,
                    skip_bad_rows=options["skip_bad_rows"],
                    progress=progress,
                    refused=refused,
                )
                if report_file:
                    json.dump(report.as_dict(), report_file, indent=2)
        except csv_io.ImportRefused as exc:
            raise CommandError(f"Refused: {exc}") from exc
        finally:
            for bar in bars.values():
                bar.close()
        self._report(report)

    def _report(self, report: csv_io.ImportReport) -> None:
        for issue in report.errors[:50]:
            self.stderr.write(f"row {issue.row}, {issue.field or 'row'}: {issue.reason}")
        if len(report.errors) > 50:
            self.stderr.write(f"… and {len(report.errors) - 50} more error(s).")
        for issue in report.duplicates[:20]:
            self.stdout.write(f"row {issue.row} skipped: {issue.reason}")
        if report.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(report.ignored_columns)}.")
        summary = (
            f"{report.rows} row(s) read, {report.created} lead(s) created, "
            f"{len(report.duplicates)} duplicate(s) skipped, {report.bad_rows} bad row(s)."
        )
        if not report.committed:
            raise CommandError(f"Nothing imported: {summary} Fix them or use --skip-bad-rows.")
        self.stdout.write(self.style.SUCCESS(summary))
