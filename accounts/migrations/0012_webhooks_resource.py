"""The `webhooks` resource (outbound webhook endpoints and their delivery log), granted
to the admin roles of the organizations that exist already, as `DEFAULT_ROLES` grants it
to new ones; no other role has it. Each organization's rows are written inside its own
context, as 0011_saved_views_resource does."""

from django.db import migrations, models

ALL = ("create", "read", "update", "delete")
ADMIN_ROLES = ("super_admin", "org_admin")


def _enter(schema_editor, organization_id) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('smartweb.organization_id', %s, true)", [str(organization_id)]
        )


def grant_webhooks(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    Role = apps.get_model("accounts", "Role")
    RolePermission = apps.get_model("accounts", "RolePermission")
    for organization_id in Organization.objects.values_list("id", flat=True):
        _enter(schema_editor, organization_id)
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
                    resource="webhooks",
                    action=action,
                    defaults={"scope": "all"},
                )
    _enter(schema_editor, "")


def revoke_webhooks(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    RolePermission = apps.get_model("accounts", "RolePermission")
    for organization_id in Organization.objects.values_list("id", flat=True):
        _enter(schema_editor, organization_id)
        RolePermission.objects.filter(organization_id=organization_id, resource="webhooks").delete()
    _enter(schema_editor, "")


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
                    ("webhooks", "Webhooks"),
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
                            "webhooks",
                        ],
                    )
                ),
                name="role_permission_resource_valid",
            ),
        ),
        migrations.RunPython(grant_webhooks, revoke_webhooks),
    ]
