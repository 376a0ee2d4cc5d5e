"""Every tenant table's keys by organization (ADR 0035): primary keys (organization_id,
id), unique keys led by organization_id, foreign keys between tenant tables composite only.

Runs after every app's tables exist. A later migration that creates a tenant table ends
with `DistributionKeys()` as well (it changes only what does not follow the rules yet);
tests/security/test_distribution_rules.py fails until it does.
"""

from django.db import migrations

from smartweb.tenancy.distribution import DistributionKeys


class Migration(migrations.Migration):
    dependencies = [
        ("smartweb", "0003_rate_window"),
        ("accounts", "0013_lead_forms_resource"),
        ("leads", "0019_lead_form_tenancy"),
        ("crm", "0015_dashboard_rollups"),
        ("compliance", "0005_suppression_bounce"),
        ("attachments", "0002_tenancy"),
        ("savedviews", "0002_tenancy"),
        ("webhooks", "0002_tenancy"),
        ("mailing", "0002_tenancy"),
        ("notifications", "0002_tenancy"),
        ("sso", "0002_tenancy"),
    ]

    operations = [DistributionKeys()]
