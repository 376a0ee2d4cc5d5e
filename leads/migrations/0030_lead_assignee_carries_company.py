"""A rep's leads by score carry their company as well as their id: a rep's companies are
the companies of their leads (smartweb.access), read from this index alone. Without the
company each of the rep's leads was read from the table: 1,900 buffers a statement for
the busiest rep of the largest organization at 1M leads, 14,500 for a manager's team
(bench/README.md). It replaces the index of the same name, so a lead written maintains as
many indexes as before, each entry 16 bytes wider."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("leads", "0029_lead_company_time_orderings")]

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
                include=("id", "company"),
                name="lead_org_assignee",
            ),
        ),
    ]
