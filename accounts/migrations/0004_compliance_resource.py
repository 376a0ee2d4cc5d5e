"""The `compliance` resource (data subject export and erasure), granted to the admin
roles of the organizations that exist already; new organizations get it from
`DEFAULT_ROLES`. The owner runs migrations under FORCE ROW LEVEL SECURITY, so each
organization's rows are written inside that organization's context."""

from django.db import migrations, models

ADMIN_ROLES = ("super_admin", "org_admin")
ACTIONS = ("create", "read", "update", "delete")


def _enter(schema_editor, organization_id) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('smartweb.organization_id', %s, true)", [str(organization_id)]
        )


def grant_compliance(apps, schema_editor):
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
            for action in ACTIONS:
                RolePermission.objects.get_or_create(
                    organization_id=organization_id,
                    role=role,
                    resource="compliance",
                    action=action,
                    defaults={"scope": "all"},
                )
    _enter(schema_editor, "")


def revoke_compliance(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    RolePermission = apps.get_model("accounts", "RolePermission")
    for organization_id in Organization.objects.values_list("id", flat=True):
        _enter(schema_editor, organization_id)
        RolePermission.objects.filter(
            organization_id=organization_id, resource="compliance"
        ).delete()
    _enter(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_login_attempt"),
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
                        ],
                    )
                ),
                name="role_permission_resource_valid",
            ),
        ),
        migrations.RunPython(grant_compliance, revoke_compliance),
    ]
