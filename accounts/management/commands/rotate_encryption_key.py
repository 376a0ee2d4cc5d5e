"""manage.py rotate_encryption_key [--batch-size N]"""

from django.core.management.base import BaseCommand, CommandError

from accounts import crypto
from accounts.key_rotation import encrypted_models, rotate_model


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the newest FIELD_ENCRYPTION_KEY, in batches, "
        "while the application serves. Run it after every server has the new key list."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction.")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if crypto.key_is_derived():
            self.stderr.write(
                "FIELD_ENCRYPTION_KEY is not set: the values are re-encrypted under the key "
                "derived from SECRET_KEY."
            )
        unreadable = 0
        for model in encrypted_models():
            counts = rotate_model(model, batch_size)
            unreadable += counts["unreadable"]
            self.stdout.write(
                f"{model._meta.label}: {counts['values']} values, "
                f"{counts['reencrypted']} re-encrypted, {counts['unreadable']} unreadable"
            )
        if unreadable:
            raise CommandError(
                f"{unreadable} values could not be decrypted with any configured key and were "
                "left as they are: add the key they were written with to FIELD_ENCRYPTION_KEY."
            )
