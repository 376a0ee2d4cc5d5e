"""WSGI entry point. Refuses to start if the database role could bypass RLS."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartweb.settings")
# A web request's statements, lock waits and transactions get the short bounds (settings).
os.environ.setdefault("SMARTWEB_PROCESS", "web")
application = get_wsgi_application()

from smartweb.startup import ensure_secure_database_role  # noqa: E402

ensure_secure_database_role()

from smartweb.memory import settle  # noqa: E402

# Last: the objects of start-up stay out of the garbage collector's scans (smartweb.memory).
settle()
