"""ASGI entry point. Refuses to start if the database role could bypass RLS."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartweb.settings")
os.environ.setdefault("SMARTWEB_PROCESS", "web")  # the web's short database bounds
application = get_asgi_application()

from smartweb.startup import ensure_secure_database_role  # noqa: E402

ensure_secure_database_role()
