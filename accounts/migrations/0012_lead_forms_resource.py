"""The `lead_forms` resource (public lead-capture forms), granted to the admin roles of
the organizations that exist already as `DEFAULT_ROLES` grants it to new ones. Rows are
written in each organization's context, as 0011_saved_views_resource does."""

import importlib

from django.db import migrations, models

SAVED_VIEWS = importlib.import_module("accounts.migrations.0011_saved_views_resource")
ADMIN_ROLES = ("super_admin", "org_admin")
ALL = ("create", "read", "update", "delete")


def grant_lead_forms(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    Role = apps.get_model("accounts", "Role")
    RolePermission = apps.get_model("accounts", "RolePermission")
    for organization_id in Organization.objects.values_list("id", flat=True):
        SAVED_VIEWS._enter(schema_editor, organization_id)
        roles = Role.objects.filter(
            organization_id=organization_id,
            slug__in=ADMIN_ROLES,
            is_system=True,
            deleted_at__isnull=True,
        )
        for role in roles:
            for action in ALL:
                RolePermission.objects.get_or_create(
                    organization_id=organization_id,
                    role=role,
                    resource="lead_forms",
                    action=action,
                    defaults={"scope": "all"},
                )
    SAVED_VIEWS._enter(schema_editor, "")


def revoke_lead_forms(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    RolePermission = apps.get_model("accounts", "RolePermission")
    for organization_id in Organization.objects.values_list("id", flat=True):
        SAVED_VIEWS._enter(schema_editor, organization_id)
        RolePermission.objects.filter(
            organization_id=organization_id, resource="lead_forms"
        ).delete()
    SAVED_VIEWS._enter(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_saved_views_resource"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="rolepermission",
            name="role_permission_resource_valid",
        ),
        migrations.AlterField(
            model_name="rolepermission",
            name="resource",
            field=models.CharField(
                choices=[
                    ("organizations", "Organizations"),
                    ("users", "Users"),
                    ("teams", "Teams"),
                    ("roles", "Roles"),
                    ("companies", "Companies"),
                    ("leads", "Leads"),
                    ("interactions", "Interactions"),
                    ("pipelines", "Pipelines"),
                    ("opportunities", "Opportunities"),
                    ("proposals", "Proposals"),
                    ("contracts", "Contracts"),
                    ("campaigns", "Campaigns"),
                    ("ai_calls", "Ai Calls"),
                    ("tasks", "Tasks"),
                    ("audit_logs", "Audit Logs"),
                    ("compliance", "Compliance"),
                    ("saved_views", "Saved Views"),
                    ("lead_forms", "Lead Forms"),
                ],
                max_length=40,
            ),
        ),
        migrations.AddConstraint(
            model_name="rolepermission",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "resource__in",
                        [
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
                            "lead_forms",
                        ],
                    )
                ),
                name="role_permission_resource_valid",
            ),
        ),
        migrations.RunPython(grant_lead_forms, revoke_lead_forms),
    ]
