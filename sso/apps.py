from django.apps import AppConfig


class SSOConfig(AppConfig):
    name = "sso"
    verbose_name = "Single sign-on"

    def ready(self) -> None:
        from sso import session  # noqa: F401  (connects the login signal)
