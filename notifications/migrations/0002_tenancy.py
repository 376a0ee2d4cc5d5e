"""Row level security on the notification tables, like every tenant table."""

from django.db import migrations

from smartweb.tenancy.operations import TenantTable


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [TenantTable("notification"), TenantTable("notificationsettings")]
