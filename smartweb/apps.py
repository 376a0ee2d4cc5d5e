from django.apps import AppConfig


class SmartwebConfig(AppConfig):
    name = "smartweb"
    verbose_name = "Platform"

    def ready(self):
        from smartweb import checks  # noqa: F401  (registers the system checks)
