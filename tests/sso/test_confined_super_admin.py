"""A platform super admin signed in through an organization's provider (the real sign-in)
works as a member of that organization, nowhere else: every organization, every user,
another user's password and the platform's reports are for a password session of the
same account (`smartweb.access.platform_admin`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client

from accounts.models import Role
from smartweb.tenancy.context import tenant_context
from tests.factories import make_member, make_organization, org_admin
from tests.sso.conftest import sso_sign_in


@pytest.fixture
def two(place):
    """Acme's super admin (an org_admin there), Beta and its admin (a user of Beta alone);
    the super admin signed in through Acme's provider, and by password."""
    root = make_member(place.organization, "org_admin", email="new@example.test", is_superuser=True)
    beta = make_organization("Beta", slug="beta", admin_email="bea@beta.test")
    provider = Client()
    assert sso_sign_in(provider, "acme", root.email).status_code == 302
    password = Client()
    password.force_login(root)
    return SimpleNamespace(
        root=root,
        beta=beta,
        bea=org_admin(beta),
        provider=provider,
        password=password,
    )


def test_the_organizations_page_lists_its_organization_alone(place, two):
    organizations = "/admin/accounts/organization/"
    page = two.provider.get(organizations).content.decode()
    assert "Acme" in page and "Beta" not in page
    assert two.provider.get(f"{organizations}{two.beta.pk}/change/").status_code == 404
    # Its own is an organization admin's page: neither its plan nor its active flag.
    own = two.provider.get(f"{organizations}{place.organization.pk}/change/").content.decode()
    assert 'name="is_active"' not in own and 'name="plan"' not in own

    page = two.password.get(organizations).content.decode()
    assert "Acme" in page and "Beta" in page
    assert two.password.get(f"{organizations}{two.beta.pk}/change/").status_code == 200
    own = two.password.get(f"{organizations}{place.organization.pk}/change/").content.decode()
    assert 'name="is_active"' in own and 'name="plan"' in own


def test_the_users_page_lists_its_organization_members_alone(place, two):
    users = "/admin/accounts/user/"
    page = two.provider.get(users).content.decode()
    assert "ann@example.test" in page and "bea@beta.test" not in page
    assert two.provider.get(f"{users}{two.bea.pk}/change/").status_code == 404
    # A member of its organization is shown, not edited: a profile is its user's.
    assert 'name="email"' not in two.provider.get(f"{users}{place.ann.pk}/change/").content.decode()

    page = two.password.get(users).content.decode()
    assert "ann@example.test" in page and "bea@beta.test" in page
    assert two.password.get(f"{users}{two.bea.pk}/change/").status_code == 200
    assert 'name="email"' in two.password.get(f"{users}{place.ann.pk}/change/").content.decode()


def test_no_password_of_another_user_is_reset(place, two):
    for user in (place.ann, two.bea):
        reset = f"/admin/accounts/user/{user.pk}/password/"
        assert two.provider.get(reset).status_code == 403
        answer = two.provider.post(
            reset, {"set_usable_password": "true", "password1": "x" * 20, "password2": "x" * 20}
        )
        assert answer.status_code == 403
        assert two.password.get(reset).status_code == 200
    place.ann.refresh_from_db()
    assert not place.ann.check_password("x" * 20)


def test_the_back_office_opens_as_its_role_allows(place, two):
    with tenant_context(place.organization):
        Role.objects.filter(slug="org_admin").update(back_office=False)
    assert two.provider.get("/admin/").status_code == 302  # to the sign-in page
    assert two.password.get("/admin/").status_code == 200


def test_no_other_organization_is_switched_to_or_entered(place, two):
    page = two.provider.get("/admin/").content.decode()
    assert "Beta" not in page
    answer = two.provider.post(
        "/admin/switch-organization/", {"organization": str(two.beta.pk)}, follow=True
    )
    assert "You cannot switch to that organization." in answer.content.decode()
    answer = two.provider.get("/api/v1/leads/", HTTP_X_ORGANIZATION=str(two.beta.pk))
    assert answer.status_code == 403

    assert "Beta" in two.password.get("/admin/").content.decode()
    answer = two.password.get("/api/v1/leads/", HTTP_X_ORGANIZATION=str(two.beta.pk))
    assert answer.status_code == 200


def test_the_organizations_api_lists_its_organization_alone(place, two):
    def names(client):
        return {row["name"] for row in client.get("/api/v1/organizations/").json()["results"]}

    assert names(two.provider) == {"Acme"}
    assert two.provider.get(f"/api/v1/organizations/{two.beta.pk}/").status_code == 404
    created = {"name": "Gamma", "admin_email": "gil@gamma.test", "plan": "free"}
    assert two.provider.post("/api/v1/organizations/", created).status_code == 403

    assert names(two.password) == {"Acme", "Beta"}
    assert two.password.get(f"/api/v1/organizations/{two.beta.pk}/").status_code == 200


def test_the_full_health_report_is_the_platforms(two):
    assert two.provider.get("/healthz?full=1").status_code == 403
    assert two.password.get("/healthz?full=1").status_code == 200
