from django.apps import AppConfig


class SmartwebConfig(AppConfig):
    name = "smartweb"
    verbose_name = "Platform"

    def ready(self):
        # Imported for their registrations: system checks and the OpenAPI auth scheme.
        from smartweb import checks  # noqa: F401
        from smartweb.api import schema  # noqa: F401
