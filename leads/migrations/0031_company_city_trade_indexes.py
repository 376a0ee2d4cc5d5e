"""Live companies by organization and city, and by organization and trade
(docs/decisions/0057, amended): the company list ordered by either reads the first value's
companies in index order and sorts those alone, where it sorted every company of the
organization (0.2 s a page for the largest at 1M leads); the trade filter and the city
filter (its spellings, `smartweb.index_walks.spellings`) and their counts read the
matching entries, not every company."""

from django.db import migrations, models

LIVE = models.Q(("deleted_at__isnull", True))


class Migration(migrations.Migration):
    dependencies = [("leads", "0030_lead_assignee_carries_company")]

    operations = [
        migrations.AddIndex(
            model_name="company",
            index=models.Index(condition=LIVE, fields=["organization", field], name=name),
        )
        for field, name in (("city", "company_org_city"), ("business_type", "company_org_trade"))
    ]
