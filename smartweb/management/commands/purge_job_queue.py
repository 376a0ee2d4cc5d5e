"""manage.py purge_job_queue"""

from django.conf import settings
from django.core.management.base import BaseCommand

from smartweb import job_retention


class Command(BaseCommand):
    help = (
        "Delete the job queue's jobs that ended long enough ago, with their events: "
        "succeeded, cancelled and aborted ones after JOBS_FINISHED_DAYS, failed ones after "
        "JOBS_FAILED_DAYS. Waiting and running jobs stay, and each task's last finished one. "
        "Daily as a job; safe to run again, and beside another run."
    )

    def handle(self, *args, **options):
        deleted = job_retention.purge()
        by_status = ", ".join(f"{count} {status}" for status, count in sorted(deleted.items()))
        self.stdout.write(
            f"Deleted {deleted.total()} jobs that ended over {settings.JOBS_FINISHED_DAYS} days"
            f" ago, failed ones over {settings.JOBS_FAILED_DAYS}"
            + (f" ({by_status})." if by_status else ".")
        )
