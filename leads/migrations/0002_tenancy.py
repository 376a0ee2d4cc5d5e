"""Row level security and composite tenant keys on every leads table, history included.

Referenced tables come before the tables that reference them: a composite foreign key
needs the `(organization_id, id)` key of its target.
"""

from django.db import migrations

from smartweb.tenancy.operations import TenantTable


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [
        TenantTable("company"),
        TenantTable("tag"),
        TenantTable("lead"),
        TenantTable("leadtag"),
        TenantTable("interaction"),
        TenantTable("leadenrichment"),
        TenantTable("historicalcompany"),
        TenantTable("historicaltag"),
        TenantTable("historicallead"),
        TenantTable("historicalleadtag"),
        TenantTable("historicalinteraction"),
        TenantTable("historicalleadenrichment"),
    ]
