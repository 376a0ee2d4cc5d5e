"""The companies by organization and country, deleted ones too: the company list's country
filter walks it one country at a time (smartweb.admin.IndexedValuesFilter), where it read
every company of the organization on each page load (230 ms for the largest organization
at 1M leads; bench/README.md)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("leads", "0027_admin_substring_search")]

    operations = [
        migrations.AddIndex(
            model_name="company",
            index=models.Index(fields=["organization", "country"], name="company_org_country"),
        ),
    ]
