"""The organization (and optionally the user) a management command acts as."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from accounts.models import Membership, Organization, User
from accounts.tenancy import find_organization
from smartweb.tenancy.context import tenant_context


def add_arguments(parser) -> None:
    parser.add_argument("--organization", required=True, help="The organization's id or slug.")
    parser.add_argument(
        "--user",
        help="Act as this member (email): their permissions and scope apply. "
        "Without it the command acts as the system, on the whole organization.",
    )


@contextmanager
def command_context(options) -> Iterator[tuple[Organization, User | None]]:
    """One transaction in the organization's context; CommandError for bad arguments."""
    organization = find_organization(options["organization"])
    if organization is None:
        raise CommandError(f"No organization with id or slug '{options['organization']}'.")
    membership = None
    if options.get("user"):
        with tenant_context(organization):
            membership = (
                Membership.objects.select_related("user")
                .filter(user__email__iexact=options["user"], is_active=True)
                .first()
            )
        if membership is None:
            raise CommandError(f"{options['user']} is not an active member of {organization}.")
    user = membership.user if membership else None
    with tenant_context(organization, user=user, membership=membership):
        yield organization, user
