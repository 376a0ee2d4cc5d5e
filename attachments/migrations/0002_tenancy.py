"""Row level security on the attachments and their history, like every tenant table; the
record keys become composite tenant keys."""

from django.db import migrations

from smartweb.tenancy.operations import TenantTable


class Migration(migrations.Migration):
    dependencies = [("attachments", "0001_initial")]

    operations = [TenantTable("attachment"), TenantTable("historicalattachment")]
