"""A platform super admin signed in through an organization's provider (the real sign-in)
works as a member of that organization, nowhere else, and so does a token that session
made: every organization, every user, another user's password, an organization's plan
and the platform's reports are for a password sign-in of the same account
(`smartweb.platform_reach`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Membership, Organization, Role
from smartweb.tenancy.context import tenant_context
from sso import identities
from tests.accounts.conftest import bearer, obtain_token
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


def _api(client: Client) -> APIClient:
    api = APIClient()
    api.cookies = client.cookies
    return api


def _provider_token(two) -> APIClient:
    answer = _api(two.provider).post("/api/v1/auth/sso-token/", {"name": "ci"}, format="json")
    assert answer.status_code == 201, answer.content
    return bearer(answer.json()["token"])


def _password_token(two) -> APIClient:
    answer = obtain_token(two.root.email, name="ci")
    assert answer.status_code == 201, answer.content
    return bearer(answer.json()["token"])


def _plan(organization) -> str:
    return Organization.objects.get(pk=organization.pk).plan


def test_its_own_organizations_plan_is_the_platforms(place, two):
    own = f"/api/v1/organizations/{place.organization.pk}/"
    for client in (_api(two.provider), _provider_token(two)):
        answer = client.patch(own, {"plan": "enterprise"}, format="json")
        assert answer.status_code == 403, answer.content
        assert client.patch(own, {"is_active": False}, format="json").status_code == 403
        assert _plan(place.organization) != "enterprise"
        assert Organization.objects.get(pk=place.organization.pk).is_active
        # What its role lets any organization admin change, it changes.
        assert client.patch(own, {"name": "Acme Ltd"}, format="json").status_code == 200

    answer = _password_token(two).patch(own, {"plan": "enterprise"}, format="json")
    assert answer.status_code == 200, answer.content
    assert _plan(place.organization) == "enterprise"


def test_a_token_the_provider_session_made_reaches_its_organization_alone(place, two):
    def names(client):
        return {row["name"] for row in client.get("/api/v1/organizations/").json()["results"]}

    confined, full = _provider_token(two), _password_token(two)
    assert names(confined) == {"Acme"}
    assert confined.get(f"/api/v1/organizations/{two.beta.pk}/").status_code == 404
    created = {"name": "Gamma", "admin_email": "gil@gamma.test", "plan": "free"}
    assert confined.post("/api/v1/organizations/", created, format="json").status_code == 403
    assert not Organization.objects.filter(name="Gamma").exists()
    # Its organization's rows, as the member it is.
    assert confined.get("/api/v1/leads/").status_code == 200

    assert names(full) == {"Acme", "Beta"}
    assert full.get(f"/api/v1/organizations/{two.beta.pk}/").status_code == 200


def test_the_token_stays_confined_once_the_identity_is_unlinked(place, two):
    confined = _provider_token(two)
    [link] = two.root.oauth_accounts.all()
    identities.unlink(link=link, acting_user=two.root)
    assert {row["name"] for row in confined.get("/api/v1/organizations/").json()["results"]} == {
        "Acme"
    }


def test_me_lists_the_membership_the_sign_in_vouches_for(place, two):
    with tenant_context(two.beta):
        role = Role.objects.get(slug="sales_rep")
        Membership.objects.create(organization=two.beta, user=two.root, role=role)

    def organizations(client):
        return {
            row["organization"]["name"] for row in client.get("/api/v1/me/").json()["memberships"]
        }

    assert organizations(_api(two.provider)) == {"Acme"}
    assert organizations(_provider_token(two)) == {"Acme"}
    assert organizations(_api(two.password)) == {"Acme", "Beta"}
