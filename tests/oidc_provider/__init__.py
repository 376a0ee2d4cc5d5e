"""A real OpenID Connect provider for the single sign-on tests: django-oauth-toolkit in
its own small Django project (these settings), on its own PostgreSQL database of the
test server, served by gunicorn (see `server.py`)."""
