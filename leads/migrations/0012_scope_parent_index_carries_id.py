"""A rep's leads index carries their id: a rep's own scope over AI calls (a sub-select of
the rep's live leads, smartweb.access) reads it alone, an index-only scan, instead of the
heap row of each of the rep's 1,894 leads in the largest organization at 1M leads.

Rebuilt under the same name: a database that had it already gets the new one."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_deleted_rows_index"),
        ("leads", "0011_search_interactions_and_short_fragments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="lead",
            name="lead_org_assignee",
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["organization", "assigned_to", "-lead_score"],
                include=("id",),
                name="lead_org_assignee",
            ),
        ),
    ]
