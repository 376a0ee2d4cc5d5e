"""What a migration that adds an RBAC resource does (not a migration: the loader skips
modules whose name starts with "_"): the role permission's resource choices and check
constraint for the full list, and the new resource granted to the admin roles of the
organizations that exist already, as `DEFAULT_ROLES` grants it to new ones. Each
organization's rows are written inside its own context, as 0011_saved_views_resource
does."""

import importlib

from django.db import migrations, models

SAVED_VIEWS = importlib.import_module("accounts.migrations.0011_saved_views_resource")
ADMIN_ROLES = ("super_admin", "org_admin")
ALL_ACTIONS = ("create", "read", "update", "delete")


def resource_operations(resources: list[str]) -> list:
    """`resources`, in order, become the only values a role permission may name."""
    return [
        migrations.RemoveConstraint(
            model_name="rolepermission", name="role_permission_resource_valid"
        ),
        migrations.AlterField(
            model_name="rolepermission",
            name="resource",
            field=models.CharField(
                choices=[(value, value.replace("_", " ").title()) for value in resources],
                max_length=40,
            ),
        ),
        migrations.AddConstraint(
            model_name="rolepermission",
            constraint=models.CheckConstraint(
                condition=models.Q(("resource__in", resources)),
                name="role_permission_resource_valid",
            ),
        ),
    ]


def granted_to_admins(resource: str) -> migrations.RunPython:
    def grant(apps, schema_editor):
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
                for action in ALL_ACTIONS:
                    RolePermission.objects.get_or_create(
                        organization_id=organization_id,
                        role=role,
                        resource=resource,
                        action=action,
                        defaults={"scope": "all"},
                    )
        SAVED_VIEWS._enter(schema_editor, "")

    def revoke(apps, schema_editor):
        Organization = apps.get_model("accounts", "Organization")
        RolePermission = apps.get_model("accounts", "RolePermission")
        for organization_id in Organization.objects.values_list("id", flat=True):
            SAVED_VIEWS._enter(schema_editor, organization_id)
            RolePermission.objects.filter(
                organization_id=organization_id, resource=resource
            ).delete()
        SAVED_VIEWS._enter(schema_editor, "")

    return migrations.RunPython(grant, revoke)
