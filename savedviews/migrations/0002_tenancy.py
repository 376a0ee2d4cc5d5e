"""Row level security on the saved views and their history, like every tenant table."""

from django.db import migrations

from smartweb.tenancy.operations import TenantTable


class Migration(migrations.Migration):
    dependencies = [("savedviews", "0001_initial"), ("accounts", "0011_saved_views_resource")]

    operations = [TenantTable("savedview"), TenantTable("historicalsavedview")]
