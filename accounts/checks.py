"""Deployment check: stored secrets should have a key of their own (accounts.crypto)."""

from django.core.checks import Tags, Warning, register

from accounts import crypto


@register(Tags.security, deploy=True)
def check_field_encryption_key(app_configs=None, **kwargs):
    if not crypto.key_is_derived():
        return []
    return [
        Warning(
            "FIELD_ENCRYPTION_KEY is not set: stored secrets (OAuth tokens, webhook secrets) "
            "are encrypted with a key derived from SECRET_KEY, and rotating SECRET_KEY would "
            "make them unreadable.",
            hint="Set FIELD_ENCRYPTION_KEY (Fernet.generate_key()), then run "
            "manage.py rotate_encryption_key.",
            id="accounts.W001",
        )
    ]
