"""manage.py erase_subject LEAD_ID --organization ORG --yes"""

import json

from django.core.management.base import BaseCommand, CommandError

from compliance import services
from compliance.management.context import lead_of, organization_of
from smartweb.errors import REFUSALS, refusal_message
from smartweb.tenancy.context import tenant_context


class Command(BaseCommand):
    help = (
        "Erase the personal data of the person of a lead everywhere, history included, "
        "and put their emails and phones on the suppression list. Irreversible."
    )

    def add_arguments(self, parser):
        parser.add_argument("lead_id")
        parser.add_argument("--organization", required=True, help="Its id or slug.")
        parser.add_argument("--yes", action="store_true", help="Confirm: this cannot be undone.")

    def handle(self, *args, **options):
        if not options["yes"]:
            raise CommandError("Erasure cannot be undone: add --yes to confirm.")
        organization = organization_of(options["organization"])
        try:
            with tenant_context(organization):
                done = services.erase_subject(lead=lead_of(options["lead_id"]), acting_user=None)
        except REFUSALS as exc:  # a person erased before, with no request of theirs open
            raise CommandError(refusal_message(exc)) from exc
        self.stdout.write(json.dumps({"subject_request": str(done.pk), **done.result}, indent=2))
