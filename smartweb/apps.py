from django.apps import AppConfig


class SmartwebConfig(AppConfig):
    name = "smartweb"
    verbose_name = "Platform"

    def ready(self):
        from django.db.backends.signals import connection_created

        # checks and schema are imported for their registrations: the system checks and
        # the OpenAPI auth scheme.
        from smartweb import checks, dbloaders  # noqa: F401
        from smartweb.api import schema  # noqa: F401

        connection_created.connect(dbloaders.on_connection_created)

        from smartweb.tenancy import joins

        joins.install()
