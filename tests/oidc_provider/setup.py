"""Prepare the test provider's database: `python -m tests.oidc_provider.setup` with the
provider's environment and, on stdin, JSON naming the client (id, secret, redirect URIs)
and the users (email, password, verified). Idempotent: run again to add redirect URIs."""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")
django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

from tests.oidc_provider.validator import UNVERIFIED_GROUP  # noqa: E402


def main() -> None:
    spec = json.load(sys.stdin)
    call_command("migrate", verbosity=0, interactive=False)
    unverified, _ = Group.objects.get_or_create(name=UNVERIFIED_GROUP)
    for person in spec["users"]:
        user, _ = User.objects.get_or_create(username=person["email"])
        user.email = person["email"]
        user.set_password(person["password"])
        user.save()
        if person["verified"]:
            user.groups.remove(unverified)
        else:
            user.groups.add(unverified)
    application = Application.objects.filter(client_id=spec["client_id"]).first()
    uris = set(application.redirect_uris.split()) if application else set()
    uris.update(spec["redirect_uris"])
    if application is None:
        application = Application(client_id=spec["client_id"])
    application.name = "SmartWeb CRM"
    application.client_type = Application.CLIENT_CONFIDENTIAL
    application.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
    application.algorithm = Application.RS256_ALGORITHM
    application.client_secret = spec["client_secret"]
    application.redirect_uris = " ".join(sorted(uris))
    application.skip_authorization = False
    application.save()


if __name__ == "__main__":
    main()
