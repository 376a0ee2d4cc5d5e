"""An organization that requires its identity provider: password sign-in and password
tokens refused for the members it covers, their password sessions ended at the next
request, tokens from an SSO session; unlinking an identity. Each with its audit row."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from rest_framework.test import APIClient

from accounts.audit import AuditAction
from accounts.models import APIToken, OAuthAccount
from smartweb.tenancy.context import tenant_context
from sso import policy
from tests.accounts.conftest import audit_rows, obtain_token
from tests.factories import PASSWORD, make_member
from tests.sso.conftest import configure, sso_sign_in


def _require(place, idp, **changes):
    return configure(place.organization, idp, sso_required=True, **changes)


def _refusals(place, reason: str) -> list:
    rows = audit_rows(place.organization, action=AuditAction.SSO_REFUSED)
    return [row for row in rows if row.details["reason"] == reason]


def test_password_sign_in_to_the_admin_is_refused_where_sso_is_required(place, idp):
    _require(place, idp)
    client = Client()
    answer = client.post("/admin/login/", {"username": "ann@example.test", "password": PASSWORD})
    assert answer.status_code == 200
    assert policy.REFUSAL.split(":")[0] in answer.content.decode()
    assert SESSION_KEY not in client.session
    [row] = _refusals(place, "sso_required")
    assert row.details["method"] == "admin" and row.actor_email == "ann@example.test"
    assert audit_rows(place.organization, action=AuditAction.LOGIN) == []


def test_a_wrong_password_is_a_failed_login_not_a_hint_that_sso_is_required(place, idp):
    _require(place, idp)
    answer = Client().post("/admin/login/", {"username": "ann@example.test", "password": "no"})
    assert policy.REFUSAL.split(":")[0] not in answer.content.decode()
    assert _refusals(place, "sso_required") == []


def test_the_token_endpoint_refuses_passwords_where_sso_is_required(place, idp):
    _require(place, idp)
    answer = obtain_token("ann@example.test", name="ci")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "sso_required"
    assert "identity provider" in answer.json()["error"]["message"]
    with tenant_context(place.organization):
        assert not APIToken.objects.filter(user=place.ann).exists()
    assert _refusals(place, "sso_required")[0].details["method"] == "api_token"


def test_members_outside_the_domains_and_the_list_keep_their_password(place, idp):
    _require(place, idp, email_domains=["elsewhere.test"])
    assert obtain_token("ann@example.test", name="ci").status_code == 201
    _require(place, idp, email_domains=["elsewhere.test"], required_emails=["ann@example.test"])
    assert obtain_token("ann@example.test", name="ci").status_code == 403


def test_an_inactive_provider_requires_nothing(place, idp):
    _require(place, idp, is_active=False)
    assert obtain_token("ann@example.test", name="ci").status_code == 201


def test_a_password_session_ends_at_the_next_request_once_sso_is_required(place, idp):
    client = Client()
    client.force_login(place.ann)
    other = make_member(place.organization, "sales_rep", email="bob@elsewhere.test")
    bystander = Client()
    bystander.force_login(other)
    assert client.get("/admin/").status_code == 200

    _require(place, idp)
    answer = client.get("/admin/")
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")
    assert SESSION_KEY not in client.session
    [row] = audit_rows(place.organization, action=AuditAction.SSO_SESSION_ENDED)
    assert row.actor == place.ann
    # A member the policy does not cover keeps the session.
    assert bystander.get("/admin/").status_code == 200


def test_an_sso_session_stays_and_may_create_a_token(place, idp):
    _require(place, idp)
    client = Client()
    assert sso_sign_in(client, "acme", "ann@example.test").status_code == 302
    assert client.get("/admin/").status_code == 200

    api = APIClient(enforce_csrf_checks=False)
    api.cookies = client.cookies
    answer = api.post("/api/v1/auth/sso-token/", {"name": "ci"}, format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["organization"] == str(place.organization.pk)
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {answer.json()['token']}")

    # A member signed in with a password (one the policy does not cover) gets no token
    # here: this way to a token is for sessions of the provider.
    password_session = APIClient()
    password_session.force_login(make_member(place.organization, "org_admin", email="x@else.test"))
    answer = password_session.post("/api/v1/auth/sso-token/", {"name": "ci"}, format="json")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "sso_session_required"


def test_identities_are_listed_and_unlinked_by_their_owner_only(place, idp):
    assert sso_sign_in(Client(), "acme", "ann@example.test").status_code == 302
    link = OAuthAccount.objects.get(user=place.ann)
    owner = APIClient()
    owner.force_login(place.ann)
    assert [row["id"] for row in owner.get("/api/v1/me/identities/").json()] == [str(link.pk)]

    stranger = APIClient()
    stranger.force_login(place.admin)
    assert stranger.get("/api/v1/me/identities/").json() == []
    assert stranger.delete(f"/api/v1/me/identities/{link.pk}/").status_code == 404
    assert OAuthAccount.objects.filter(pk=link.pk).exists()

    assert owner.delete(f"/api/v1/me/identities/{link.pk}/").status_code == 204
    assert not OAuthAccount.objects.filter(pk=link.pk).exists()
    [row] = audit_rows(place.organization, action=AuditAction.SSO_UNLINKED)
    assert row.actor == place.ann and row.details["identity"] == str(link.pk)


def test_the_second_factor_follows_the_provider_where_the_organization_requires_it(place, idp):
    from accounts.models import Organization
    from sso.session import SESSION_KEY as SSO_KEY
    from tests.accounts.test_two_factor import code_for, enrol

    _require(place, idp)
    Organization.objects.filter(pk=place.organization.pk).update(settings={"two_factor": "all"})
    device, _ = enrol(place.ann)
    client = Client()
    answer = sso_sign_in(client, "acme", "ann@example.test")
    assert answer.status_code == 302 and answer["Location"] == "/admin/second-factor/"
    assert SESSION_KEY not in client.session

    wrong = client.post("/admin/second-factor/", {"code": "000000"})
    assert "not valid" in wrong.content.decode() and SESSION_KEY not in client.session
    assert client.post("/admin/second-factor/", {"code": code_for(device)}).status_code == 302
    assert client.session[SESSION_KEY] == str(place.ann.pk)
    assert client.session[SSO_KEY]["organization"] == str(place.organization.pk)
    # Signed in through the provider and the second factor: the required policy lets it be.
    assert client.get("/admin/").status_code == 200


def _second_membership(user, name: str, slug: str, **changes):
    """`user` made a member of a new organization (as its sales rep), and that organization."""
    from accounts.models import Membership
    from tests.factories import make_organization

    other = make_organization(name, slug=slug)
    make_member(other, "sales_rep", email=f"ann@{slug}.test")
    with tenant_context(other):
        Membership.objects.filter(user__email=f"ann@{slug}.test").update(user=user, **changes)
    return other


def test_the_policy_check_of_a_request_is_one_statement_whatever_the_organizations(place, idp):
    """What the session check adds to a signed-in request: one statement, outside any
    transaction, for one organization or several."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert policy.requiring_organizations(place.ann) == set()
    second = _second_membership(place.ann, "Second", "second")
    _require(place, idp)
    configure(second, idp, sso_required=True)
    with CaptureQueriesContext(connection) as two:
        assert policy.requiring_organizations(place.ann) == {place.organization.pk, second.pk}
    assert (len(one), len(two)) == (1, 1), [q["sql"] for q in two.captured_queries]


def test_the_policy_check_counts_only_active_memberships_and_providers(place, idp):
    """Across organizations: a provider that is inactive, does not require sign-on or
    does not cover the email requires nothing; nor does a deactivated membership."""
    from accounts.models import Membership

    _require(place, idp)
    deactivated = _second_membership(place.ann, "Deactivated", "deactivated", is_active=False)
    configure(deactivated, idp, sso_required=True)
    inactive = _second_membership(place.ann, "Inactive", "inactive")
    configure(inactive, idp, sso_required=True, is_active=False)
    optional = _second_membership(place.ann, "Optional", "optional")
    configure(optional, idp, sso_required=False)
    elsewhere = _second_membership(place.ann, "Elsewhere", "elsewhere")
    configure(elsewhere, idp, sso_required=True, email_domains=["elsewhere.test"])
    listed = _second_membership(place.ann, "Listed", "listed")
    configure(
        listed, idp, sso_required=True, email_domains=[], required_emails=["ANN@example.test"]
    )
    assert policy.requiring_organizations(place.ann) == {place.organization.pk, listed.pk}
    with tenant_context(place.organization):
        Membership.objects.filter(user=place.ann).update(is_active=False)
    assert policy.requiring_organizations(place.ann) == {listed.pk}


@pytest.mark.django_db
def test_the_policy_function_is_definer_owned_by_the_search_role_with_a_pinned_path():
    from django.db import connection

    from smartweb import db_bootstrap

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proowner::regrole::text, prosecdef, proconfig,"
            " has_function_privilege('public', oid, 'EXECUTE')"
            " FROM pg_proc WHERE proname = 'smartweb_sso_requirements'"
        )
        [(owner, definer, config, public_may_run)] = cursor.fetchall()
    assert (owner, definer, public_may_run) == (db_bootstrap.SEARCH_ROLE, True, False)
    assert config == ["search_path=pg_catalog, public, pg_temp"]
