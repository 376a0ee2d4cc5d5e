"""manage.py citus_plan: the statements that distribute this database by organization on
a Citus cluster, in the order Citus takes them (smartweb.tenancy.citus_plan). docs/scale.md
carries them, and a test fails when the schema and the page differ."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection

from smartweb.tenancy import citus_plan


class Command(BaseCommand):
    help = "Print the Citus distribution plan of this database's schema (docs/scale.md)."

    def handle(self, *args, **options):
        with connection.cursor() as cursor:
            for line in citus_plan.plan(cursor):
                self.stdout.write(line)
