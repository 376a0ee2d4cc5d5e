"""The `webhooks` resource (outbound webhook endpoints and their delivery log), for the
admin roles only (accounts.migrations._resource_grants)."""

import importlib

from django.db import migrations

GRANTS = importlib.import_module("accounts.migrations._resource_grants")
RESOURCES = [
    "organizations",
    "users",
    "teams",
    "roles",
    "companies",
    "leads",
    "interactions",
    "pipelines",
    "opportunities",
    "proposals",
    "contracts",
    "campaigns",
    "ai_calls",
    "tasks",
    "audit_logs",
    "compliance",
    "saved_views",
    "webhooks",
]


class Migration(migrations.Migration):
    dependencies = [("accounts", "0011_saved_views_resource")]

    operations = [
        *GRANTS.resource_operations(RESOURCES),
        GRANTS.granted_to_admins("webhooks"),
    ]
