"""Opportunities and tasks by organization and update time, live ones: their lists
are now ordered and filtered by update time too (`ordering=updated_at`, `updated_after`),
a sync's "what changed since", read in this order (docs/decisions/0057)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0022_board_by_owner")]

    operations = [
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["organization", "updated_at"],
                name="crm_opp_org_updated",
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["organization", "updated_at"],
                name="crm_task_org_updated",
            ),
        ),
    ]
