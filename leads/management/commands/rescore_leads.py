"""manage.py rescore_leads --organization ORG: recompute every lead's score (an erased
person's lead is left as it is, and counted)."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from leads import services
from leads.management.context import add_arguments, command_context
from leads.models import Lead


class Command(BaseCommand):
    help = "Recompute the score and breakdown of the organization's leads."

    def add_arguments(self, parser):
        add_arguments(parser)
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        with command_context(options) as (organization, user):
            queryset = Lead.objects.all()
            with tqdm(
                total=queryset.count(),
                unit="lead",
                disable=options["no_progress"],
                file=self.stderr._out,
            ) as bar:
                rescored = services.leads_rescore(
                    queryset=queryset,
                    acting_user=user,
                    batch_size=options["batch_size"],
                    progress=bar.update,
                )
        changed = f"{rescored.changed} lead score(s) changed in {organization}."
        self.stdout.write(self.style.SUCCESS(changed))
        if rescored.erased:
            self.stdout.write(self.style.WARNING(rescored.erased_note()))
