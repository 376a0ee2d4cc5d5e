from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self):
        # Connects the login/logout receivers that record signed-in devices.
        from accounts import device_sessions  # noqa: F401
