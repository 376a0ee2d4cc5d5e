"""The `saved_views` resource, granted to the system roles of the organizations that
exist already as `DEFAULT_ROLES` grants it to new ones: everything to the admin roles,
their own views and their team's shared ones to the sales roles, reading to read-only.
The owner runs migrations under FORCE ROW LEVEL SECURITY, so each organization's rows
are written inside that organization's context (as 0004_compliance_resource does)."""

from django.db import migrations, models

ALL = ("create", "read", "update", "delete")
PERSONAL = {"create": "own", "read": "team", "update": "own", "delete": "own"}
GRANTS = {
    "super_admin": dict.fromkeys(ALL, "all"),
    "org_admin": dict.fromkeys(ALL, "all"),
    "sales_manager": PERSONAL,
    "sales_rep": PERSONAL,
    "read_only": {"read": "all"},
}


def _enter(schema_editor, organization_id) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('smartweb.organization_id', %s, true)", [str(organization_id)]
        )


def grant_saved_views(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    Role = apps.get_model("accounts", "Role")
    RolePermission = apps.get_model("accounts", "RolePermission")
    for organization_id in Organization.objects.values_list("id", flat=True):
        _enter(schema_editor, organization_id)
        roles = Role.objects.filter(
            organization_id=organization_id,
            slug__in=GRANTS,
            is_system=True,
            deleted_at__isnull=True,
        )
        for role in roles:
            for action, scope in GRANTS[role.slug].items():
                RolePermission.objects.get_or_create(
                    organization_id=organization_id,
                    role=role,
                    resource="saved_views",
                    action=action,
                    defaults={"scope": scope},
                )
    _enter(schema_editor, "")


def revoke_saved_views(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    RolePermission = apps.get_model("accounts", "RolePermission")
    for organization_id in Organization.objects.values_list("id", flat=True):
        _enter(schema_editor, organization_id)
        RolePermission.objects.filter(
            organization_id=organization_id, resource="saved_views"
        ).delete()
    _enter(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_history_origin"),
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
                        ],
                    )
                ),
                name="role_permission_resource_valid",
            ),
        ),
        migrations.RunPython(grant_saved_views, revoke_saved_views),
    ]
