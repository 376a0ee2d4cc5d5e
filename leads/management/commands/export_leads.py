"""manage.py export_leads --organization ORG [--user EMAIL] [--output FILE]"""

from django.core.management.base import BaseCommand, CommandError

from leads import csv_io
from leads.choices import LeadStatus
from leads.management.context import add_arguments, command_context
from leads.models import Lead


class Command(BaseCommand):
    help = "Export leads with their companies as CSV (audited); --user limits it to their scope."

    def add_arguments(self, parser):
        add_arguments(parser)
        parser.add_argument("--output", "-o", help="The CSV file to write (default: stdout).")
        parser.add_argument("--status", action="append", choices=LeadStatus.values, default=[])

    def handle(self, *args, **options):
        with command_context(options) as (organization, user):
            queryset = Lead.objects.all()
            if options["status"]:
                queryset = queryset.filter(status__in=options["status"])
            if not options["output"]:
                self._export(queryset, self.stdout._out, user)
                return
            try:
                with open(options["output"], "w", newline="", encoding="utf-8") as out:
                    count = self._export(queryset, out, user)
            except OSError as exc:
                raise CommandError(f"Cannot write {options['output']}: {exc.strerror}.") from exc
        self.stderr.write(f"Exported {count} lead(s) of {organization} to {options['output']}.")

    def _export(self, queryset, out, user) -> int:
        return csv_io.export_leads(
            queryset=queryset, out=out, acting_user=user, description="export_leads command"
        )
