"""WSGI entry point. Refuses to start if the database role could bypass RLS."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartweb.settings")
application = get_wsgi_application()

from smartweb.startup import ensure_secure_database_role  # noqa: E402

ensure_secure_database_role()
