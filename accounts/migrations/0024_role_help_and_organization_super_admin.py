"""The role fields say what a role grants, and the organizations that exist already have
their "Super Admin" role named "Organization Super Admin", as `DEFAULT_ROLES` names it in
new ones: it grants what Organization Admin does, in its organization alone, and its old
name read as the platform's super admin. The slug stays `super_admin`. An organization
with a custom role of the new name keeps the old one (names are unique per organization).
The owner runs migrations under FORCE ROW LEVEL SECURITY, so each organization's rows
are written inside that organization's context (as 0011_saved_views_resource does)."""

import importlib

import django.db.models.deletion
from django.db import migrations, models
from django.db.models.functions import Now

SAVED_VIEWS = importlib.import_module("accounts.migrations.0011_saved_views_resource")
OLD_NAME, NEW_NAME = "Super Admin", "Organization Super Admin"


def _rename(apps, schema_editor, old: str, new: str) -> None:
    Organization = apps.get_model("accounts", "Organization")
    Role = apps.get_model("accounts", "Role")
    for organization_id in Organization.objects.values_list("id", flat=True):
        SAVED_VIEWS._enter(schema_editor, organization_id)
        roles = Role.objects.filter(organization_id=organization_id, deleted_at__isnull=True)
        if roles.filter(name=new).exists():
            continue
        roles.filter(slug="super_admin", is_system=True, name=old).update(
            name=new, updated_at=Now()
        )
    SAVED_VIEWS._enter(schema_editor, "")


def name_it_organization_super_admin(apps, schema_editor):
    _rename(apps, schema_editor, OLD_NAME, NEW_NAME)


def name_it_super_admin(apps, schema_editor):
    _rename(apps, schema_editor, NEW_NAME, OLD_NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0022_organization_time_zone"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalmembership",
            name="role",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="What the member may do in this organization, and only here (Roles lists each role's permissions). Organization Super Admin grants what Organization Admin does, no more: no role reaches other organizations or the platform.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="accounts.role",
            ),
        ),
        migrations.AlterField(
            model_name="invitation",
            name="role",
            field=models.ForeignKey(
                help_text="What the member may do in this organization, and only here (Roles lists each role's permissions). Organization Super Admin grants what Organization Admin does, no more: no role reaches other organizations or the platform.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invitations",
                to="accounts.role",
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.ForeignKey(
                help_text="What the member may do in this organization, and only here (Roles lists each role's permissions). Organization Super Admin grants what Organization Admin does, no more: no role reaches other organizations or the platform.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="memberships",
                to="accounts.role",
            ),
        ),
        migrations.RunPython(name_it_organization_super_admin, name_it_super_admin),
    ]
