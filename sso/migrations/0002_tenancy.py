"""Row level security on the identity providers, like every tenant table."""

from django.db import migrations

from smartweb.tenancy.operations import TenantTable


class Migration(migrations.Migration):
    dependencies = [("sso", "0001_initial")]

    operations = [TenantTable("identityprovider")]
