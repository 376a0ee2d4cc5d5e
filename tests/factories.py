"""factory_boy factories and helpers to build organizations and their people."""

from __future__ import annotations

import itertools
from contextlib import contextmanager

import factory
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Membership, Organization, Role, Team, User
from smartweb.tenancy.context import tenant_context

PASSWORD = "correct-horse-battery-staple"
_sequence = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_organization(name: str | None = None, **kwargs) -> Organization:
    """A new organization through the real service (default roles, admin, setup steps)."""
    n = next(_sequence)
    name = name or f"Organization {n}"
    email = kwargs.pop("admin_email", None) or f"admin{n}@example.test"
    existing = User.objects.filter(email__iexact=email).exists()  # keeps its own password
    return services.organization_create(
        name=name,
        slug=kwargs.pop("slug", None) or f"org-{n}",
        admin_email=email,
        admin_password=None if existing else PASSWORD,
        **kwargs,
    )


def org_admin(organization: Organization) -> User:
    with tenant_context(organization):
        return Membership.objects.get(role__slug="org_admin").user


def make_member(
    organization: Organization, role_slug: str, *, team: Team | None = None, **user_fields
) -> User:
    user = UserFactory(**user_fields)
    with tenant_context(organization):
        role = Role.objects.get(slug=role_slug)
        Membership.objects.create(organization=organization, user=user, role=role, team=team)
    return user


def make_team(organization: Organization, name: str, manager: User | None = None) -> Team:
    with tenant_context(organization):
        return Team.objects.create(organization=organization, name=name, manager=manager)


def api_client(user: User, organization: Organization | None = None) -> APIClient:
    """An API client authenticated with a real token of `organization` (or a session)."""
    client = APIClient()
    if organization is None:
        client.force_login(user)
        return client
    with tenant_context(organization, user=user):
        _, raw = services.token_create(
            user=user, organization_id=organization.pk, name="tests", expires_in_days=1
        )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def admin_browser(user: User) -> Client:
    """A browser's client, signed in: its posts are forms, as the admin's pages take them."""
    client = Client()
    client.force_login(user)
    return client


def session_client(user: User, organization: Organization | None = None) -> APIClient:
    client = APIClient()
    client.force_login(user)
    if organization is not None:
        client.defaults["HTTP_X_ORGANIZATION"] = str(organization.pk)
    return client


def count_rows(organization: Organization, model, **record) -> int:
    """The rows of `model` matching `record`, as the organization holds them."""
    with tenant_context(organization):
        return model.objects.filter(**record).count()


def share(record, user: User, organization: Organization, *, by: User, access: str = "read"):
    """Share `record` with `user` as `by` does, through the sharing service and its checks."""
    from sharing.services import record_share  # the records' apps load after this module

    with acting_as(by, organization):
        return record_share(record=record, user=user, access_level=access, acting_user=by)


@contextmanager
def acting_as(user: User, organization: Organization):
    """Run the block as `user` through their membership of `organization`, as a request
    would (the permission service reads the membership from the context)."""
    with tenant_context(organization):
        membership = Membership.objects.select_related("role").get(user=user)
    with tenant_context(organization, user=user, membership=membership):
        yield membership
