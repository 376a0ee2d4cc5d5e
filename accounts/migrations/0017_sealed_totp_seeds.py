"""Authenticator seeds sealed (accounts.crypto) in `accounts_totpsecret`; django-otp's
plain `key` column is emptied."""

import django.db.models.deletion
from django.db import migrations, models


def seal(apps, schema_editor):
    from accounts.crypto import encrypt

    devices = apps.get_model("otp_totp", "TOTPDevice")
    secrets = apps.get_model("accounts", "TOTPSecret")
    for device in devices.objects.exclude(key=""):
        secrets.objects.create(device=device, sealed_key=encrypt(device.key))
        device.key = ""
        device.save(update_fields=["key"])


def unseal(apps, schema_editor):
    from accounts.crypto import decrypt

    secrets = apps.get_model("accounts", "TOTPSecret")
    for secret in secrets.objects.select_related("device"):
        secret.device.key = decrypt(secret.sealed_key)
        secret.device.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0016_token_lookup_sets_context"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="TOTPSecret",
            fields=[
                (
                    "device",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="sealed",
                        serialize=False,
                        to="otp_totp.totpdevice",
                    ),
                ),
                ("sealed_key", models.TextField(editable=False)),
            ],
        ),
        migrations.CreateModel(
            name="SealedTOTPDevice",
            fields=[],
            options={
                "verbose_name": "authenticator",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("otp_totp.totpdevice",),
        ),
        migrations.RunPython(seal, unseal),
    ]
