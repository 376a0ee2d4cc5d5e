from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self):
        # Connects the login/logout receivers that record signed-in devices, and registers
        # the deployment check of the encryption key.
        from accounts import checks, device_sessions  # noqa: F401
