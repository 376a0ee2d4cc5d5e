"""What the single-purpose benchmarks share: Django set up on a benchmark database of
their own, and a new organization to measure in."""

from __future__ import annotations

import os
import time

from bench import databases


def setup_django(dbname: str, *, fresh: bool = True, **env: str) -> None:
    """Django on `dbname` as the runtime role (recreated first when `fresh`); `env`
    adds settings read from the environment."""
    if fresh:
        databases.recreate(dbname)
    os.environ.update(
        databases.django_env(databases.runtime_url(dbname)), LOG_LEVEL="WARNING", **env
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartweb.settings")
    import django

    django.setup()


def new_organization(label: str):
    """A new organization named after `label` and the moment, and its admin."""
    from accounts.models import Membership
    from accounts.services import organization_create
    from smartweb.tenancy.context import tenant_context

    slug = f"bench-{label}-{time.time_ns()}"
    organization = organization_create(
        name=slug,
        slug=slug,
        admin_email=f"admin@{slug}.test",
        admin_password="bench-only-password-2026",  # noqa: S106
    )
    with tenant_context(organization):
        admin = Membership.objects.get(role__slug="org_admin").user
    return organization, admin
