"""The lead rollup by organization, grain, assignee and status, for a lead list's count
(crm.selectors.lead_count)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0016_rollup_month_totals")]

    operations = [
        migrations.AddIndex(
            model_name="leadrollup",
            index=models.Index(
                fields=["organization", "grain", "assigned_to_id", "status"],
                name="crm_leadrollup_owner_status",
            ),
        )
    ]
