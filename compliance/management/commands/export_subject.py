"""manage.py export_subject LEAD_ID --organization ORG [--format json|csv] [--output FILE]"""

from django.core.management.base import BaseCommand, CommandError

from compliance import export, services
from compliance.management.context import lead_of, organization_of
from smartweb.tenancy.context import tenant_context


class Command(BaseCommand):
    help = (
        "Export everything the organization holds about the person of a lead (GDPR access "
        "and portability). The export is written to the security audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("lead_id")
        parser.add_argument("--organization", required=True, help="Its id or slug.")
        parser.add_argument("--format", choices=list(export.RENDERERS), default="json")
        parser.add_argument("--output", help="Write to this file (default: standard output).")

    def handle(self, *args, **options):
        if options["format"] == "csv" and not options["output"]:
            raise CommandError("The CSV bundle is a zip file: name it with --output FILE.")
        organization = organization_of(options["organization"])
        with tenant_context(organization):
            result = services.export_subject(
                lead=lead_of(options["lead_id"]), acting_user=None, fmt=options["format"]
            )
        if options["output"]:
            try:
                with open(options["output"], "wb") as out:
                    out.write(result.content)
            except OSError as exc:
                raise CommandError(f"Cannot write {options['output']}: {exc.strerror}.") from exc
            self.stderr.write(f"Wrote {options['output']} ({len(result.content)} bytes).")
        else:
            self.stdout.write(result.content.decode())
