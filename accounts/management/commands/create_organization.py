"""manage.py create_organization NAME --admin-email E [--admin-password P] [--slug S] [--plan P]
[--time-zone Z]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Plan
from accounts.services import organization_create
from smartweb import time_zones


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = "Create an organization with its default roles, pipeline and first admin."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument(
            "--admin-password",
            help="Required for a new user; refused when the email already has an account (which"
            " keeps its own password).",
        )
        parser.add_argument("--slug", help="URL-safe identifier (default: from the name).")
        parser.add_argument("--plan", choices=Plan.values, default=Plan.FREE)
        parser.add_argument(
            "--time-zone",
            default=time_zones.DEFAULT,
            help="Where its people read and type times in the back office, an IANA name such as"
            f" Europe/London (default: {time_zones.DEFAULT}).",
        )

    def handle(self, *args, name, admin_email, admin_password, slug, plan, time_zone, **options):
        try:
            organization = organization_create(
                name=name,
                slug=slug,
                plan=plan,
                time_zone=time_zone,
                admin_email=admin_email,
                admin_password=admin_password,
            )
        except ValidationError as error:
            raise CommandError(_messages(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Created organization {organization.name} (slug {organization.slug}, "
                f"id {organization.pk}, time zone {organization.time_zone}) with admin "
                f"{admin_email.strip().lower()}."
            )
        )
