"""manage.py seed_demo: the demo organizations, people and sales data. Idempotent."""

from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from accounts.demo import DEMO_ORGANIZATIONS, DEMO_PASSWORD, ensure_organization
from smartweb.tenancy.context import tenant_context

# Each app's demo loader, called in order inside the organization's context.
DEMO_LOADERS = (
    "leads.demo.load_demo",
    "crm.demo.load_demo",
    "savedviews.demo.load_demo",
    "mailing.demo.load_demo",
)


class Command(BaseCommand):
    help = "Load the demo organizations, their users and sales data (safe to run again)."

    def handle(self, *args, **options):
        for spec in DEMO_ORGANIZATIONS:
            organization, users = ensure_organization(spec)
            with tenant_context(organization, user=users["admin"]):
                for load in map(import_string, DEMO_LOADERS):
                    load(organization=organization, users=users)
            self.stdout.write(f"Demo organization {organization.name} ({organization.slug}) ready.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Log in at /admin/ as admin@demo.smartweb.test with password {DEMO_PASSWORD}."
            )
        )
