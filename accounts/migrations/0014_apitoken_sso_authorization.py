"""API tokens record whether single sign-on authorized them (ADR 0033): where an
organization requires its identity provider, a covered member's token needs it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0013_lead_forms_resource")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="sso_authorized_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="sso_refused_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
