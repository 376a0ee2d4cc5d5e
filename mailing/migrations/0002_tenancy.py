"""Row level security on the email tables and the templates' history, like every tenant
table; the messages' foreign keys become composite tenant keys."""

from django.db import migrations

from smartweb.tenancy.operations import TenantTable


class Migration(migrations.Migration):
    dependencies = [("mailing", "0001_initial")]

    operations = [
        TenantTable("emailtemplate"),
        TenantTable("historicalemailtemplate"),
        TenantTable("emailmessage"),
        TenantTable("inboundsecret"),
    ]
