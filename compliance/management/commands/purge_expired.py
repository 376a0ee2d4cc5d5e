"""manage.py purge_expired (--organization ORG | --all) [--dry-run]"""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.audit import record_audit_event
from accounts.models import Organization
from compliance import retention
from compliance.management.context import organization_of
from smartweb.tenancy.context import tenant_context


class Command(BaseCommand):
    help = (
        "Delete for good what the retention settings say has expired: soft-deleted rows, "
        "history rows and security logs. Each organization's purge is written to its "
        "security audit log. Security logs need DATABASE_OWNER_URL (the owner role)."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--organization", help="Its id or slug.")
        which.add_argument("--all", action="store_true", help="Every organization.")
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        if options["all"]:
            organizations = list(Organization.objects.order_by("name"))
        else:
            organizations = [organization_of(options["organization"])]
        for organization in organizations:
            self._purge(organization, options)
        if options["all"]:
            self._purge_unassigned(options)

    def _purge(self, organization: Organization, options) -> None:
        verb = "would remove" if options["dry_run"] else "removed"
        with tenant_context(organization):
            steps = retention.steps(organization)
        removed: Counter = Counter()
        skipped = []
        bar = tqdm(
            steps,
            desc=organization.slug,
            unit="table",
            disable=options["no_progress"] or None,
            file=self.stderr._out,
        )
        for step in bar:
            bar.set_postfix_str(step.table)
            try:
                with tenant_context(organization):
                    if options["dry_run"]:
                        removed[step.table] += step.count()
                    else:
                        removed += step.run()
            except retention.OwnerConnectionUnavailable as exc:
                skipped.append(f"{step.table}: {exc}")
        bar.close()
        if not options["dry_run"]:
            with tenant_context(organization):
                record_audit_event(
                    action=retention.PURGE_AUDIT_ACTION,
                    details={"rows": dict(removed), "skipped": skipped},
                )
        self.stdout.write(f"{organization.name} ({organization.slug}): {verb}")
        for table, count in sorted(removed.items()):
            if count:
                self.stdout.write(f"  {table}: {count}")
        if not +removed:
            self.stdout.write("  nothing")
        for reason in skipped:
            self.stderr.write(f"  skipped {reason}")

    def _purge_unassigned(self, options) -> None:
        try:
            count = retention.purge_unassigned_security_logs(dry_run=options["dry_run"])
        except retention.OwnerConnectionUnavailable as exc:
            raise CommandError(str(exc)) from exc
        verb = "would remove" if options["dry_run"] else "removed"
        self.stdout.write(f"Security logs of no organization: {verb} {count}")
