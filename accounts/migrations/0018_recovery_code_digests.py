"""Recovery codes stored as digests (`accounts.models.recovery_code_digest`): the codes
already issued are replaced by theirs, and keep working. The way back cannot recover
them: after a rollback, users sign in with their authenticator and renew their codes."""

from django.db import migrations
from django.db.models.functions import Length

DIGEST_LENGTH = 16


def digest_issued_codes(apps, schema_editor):
    from accounts.models import recovery_code_digest

    tokens = apps.get_model("otp_static", "StaticToken")
    issued = tokens.objects.annotate(length=Length("token")).filter(length__lt=DIGEST_LENGTH)
    for token in issued:
        token.token = recovery_code_digest(token.token)
        token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0017_sealed_totp_seeds"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecoveryCodes",
            fields=[],
            options={
                "verbose_name": "recovery codes",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("otp_static.staticdevice",),
        ),
        migrations.RunPython(digest_issued_codes, migrations.RunPython.noop),
    ]
