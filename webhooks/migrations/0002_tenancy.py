"""Row level security on the webhook tables and the endpoints' history, like every
tenant table; the deliveries' and attempts' foreign keys become composite."""

from django.db import migrations

from smartweb.tenancy.operations import TenantTable


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("accounts", "0012_webhooks_resource")]

    operations = [
        TenantTable("endpoint"),
        TenantTable("historicalendpoint"),
        TenantTable("outboxevent"),
        TenantTable("delivery"),
        TenantTable("deliveryattempt"),
    ]
