"""The `lead_forms` resource (public lead-capture forms), for the admin roles only
(accounts.migrations._resource_grants)."""

import importlib

from django.db import migrations

GRANTS = importlib.import_module("accounts.migrations._resource_grants")
RESOURCES = [
    *importlib.import_module("accounts.migrations.0012_webhooks_resource").RESOURCES,
    "lead_forms",
]


class Migration(migrations.Migration):
    dependencies = [("accounts", "0012_webhooks_resource")]

    operations = [
        *GRANTS.resource_operations(RESOURCES),
        GRANTS.granted_to_admins("lead_forms"),
    ]
