"""A token made through an organization's identity provider is confined to that
organization: its super admin user acts there as a member, never with platform-wide
reach. The tokens that exist and were made that way (`sso_authorized_at` still set) are
marked so. The owner runs migrations under FORCE ROW LEVEL SECURITY, so each
organization's rows are written inside its own context (as 0011_saved_views_resource
does)."""

import importlib

from django.db import migrations, models
from django.db.models.functions import Now

SAVED_VIEWS = importlib.import_module("accounts.migrations.0011_saved_views_resource")


def confine_provider_tokens(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    APIToken = apps.get_model("accounts", "APIToken")
    for organization_id in Organization.objects.values_list("id", flat=True):
        SAVED_VIEWS._enter(schema_editor, organization_id)
        APIToken.objects.filter(
            organization_id=organization_id, sso_authorized_at__isnull=False
        ).update(confined=True, updated_at=Now())
    SAVED_VIEWS._enter(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0024_role_help_and_organization_super_admin"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="confined",
            field=models.BooleanField(
                default=False,
                editable=False,
                verbose_name="confined to its organization",
                help_text="Made through the organization's identity provider, which vouches "
                "for this organization alone: the token never reaches the rest of the platform.",
            ),
        ),
        migrations.RunPython(confine_provider_tokens, migrations.RunPython.noop),
    ]
