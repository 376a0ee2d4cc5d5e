"""API tokens where an organization requires its identity provider: a covered member's
token works only if it was created through the provider (POST /api/v1/auth/sso-token/);
one made with a password, before the requirement, is refused with 403 `sso_required`,
audited once an hour, kept (not deleted) and shown as needing single sign-on."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.audit import AuditAction
from accounts.models import APIToken, Membership, Role
from smartweb.people import person_name
from smartweb.tenancy.context import tenant_context
from sso.models import IdentityProvider
from tests.accounts.conftest import admin_client, audit_rows, bearer, obtain_token
from tests.factories import make_member, make_organization
from tests.html_forms import form_data
from tests.sso.conftest import configure, sso_sign_in

TOKENS = "/api/v1/auth/tokens/"


def _require(place, idp, **changes):
    return configure(place.organization, idp, sso_required=True, **changes)


def _password_token(email: str) -> dict:
    answer = obtain_token(email, name="password")
    assert answer.status_code == 201, answer.content
    return answer.json()


def _refusals(organization) -> list:
    rows = audit_rows(organization, action=AuditAction.SSO_REFUSED)
    return [row for row in rows if row.details["method"] == "api_token_use"]


def _sso_session(email: str) -> APIClient:
    """An API client on a session signed in through the provider."""
    client = Client()
    assert sso_sign_in(client, "acme", email).status_code == 302
    api = APIClient()
    api.cookies = client.cookies
    return api


def _sso_token(email: str) -> dict:
    answer = _sso_session(email).post("/api/v1/auth/sso-token/", {"name": "sso"}, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_a_password_token_made_before_the_requirement_is_refused_after_it(place, idp):
    token = _password_token("ann@example.test")
    client = bearer(token["token"])
    assert client.get("/api/v1/me/").status_code == 200

    _require(place, idp)
    answer = client.get("/api/v1/leads/")
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "sso_required"
    assert "identity provider" in error["message"] and "/api/v1/auth/sso-token/" in error["message"]
    [row] = _refusals(place.organization)
    assert (row.actor, row.target_id, row.details["reason"]) == (
        place.ann,
        token["id"],
        "sso_required",
    )
    # Kept, not deleted: the owner or an admin revokes it.
    with tenant_context(place.organization):
        stored = APIToken.objects.get(pk=token["id"])
    assert stored.revoked_at is None and stored.sso_authorized_at is None


def test_a_client_retrying_a_refused_token_writes_one_audit_row_an_hour(place, idp):
    client = bearer(_password_token("ann@example.test")["token"])
    _require(place, idp)
    for _ in range(3):
        assert client.get("/api/v1/me/").status_code == 403
    assert len(_refusals(place.organization)) == 1

    with tenant_context(place.organization):
        APIToken.objects.update(sso_refused_at=timezone.now() - dt.timedelta(minutes=61))
    assert client.get("/api/v1/me/").status_code == 403
    assert len(_refusals(place.organization)) == 2


def test_a_token_from_the_provider_session_is_accepted_and_the_list_tells_them_apart(place, idp):
    old = _password_token("ann@example.test")
    _require(place, idp)
    new = _sso_token("ann@example.test")

    client = bearer(new["token"])
    assert client.get("/api/v1/me/").json()["user"]["email"] == "ann@example.test"
    listed = {row["id"]: row for row in client.get(TOKENS).json()["results"]}
    assert listed[new["id"]]["status"] == "active" and listed[new["id"]]["sso_authorized_at"]
    assert listed[old["id"]]["status"] == "needs_sso"
    assert listed[old["id"]]["sso_authorized_at"] is None
    assert _refusals(place.organization) == []
    [created] = [
        row
        for row in audit_rows(place.organization, action=AuditAction.TOKEN_CREATED)
        if row.target_id == new["id"]
    ]
    assert created.details["sso_authorized"] is True


def test_members_outside_the_domains_and_inactive_providers_are_unaffected(place, idp):
    bob = make_member(place.organization, "sales_rep", email="bob@elsewhere.test")
    bobs = bearer(_password_token(bob.email)["token"])
    anns = bearer(_password_token("ann@example.test")["token"])
    _require(place, idp)
    assert bobs.get("/api/v1/me/").status_code == 200
    assert anns.get("/api/v1/me/").status_code == 403

    _require(place, idp, is_active=False)
    assert anns.get("/api/v1/me/").status_code == 200
    # Named in the list, outside the domains: covered.
    _require(place, idp, is_active=True, email_domains=["other.test"], required_emails=[bob.email])
    assert bobs.get("/api/v1/me/").status_code == 403
    assert anns.get("/api/v1/me/").status_code == 200


def test_only_the_token_organizations_requirement_applies(place, idp):
    other = make_organization("Other", slug="other")
    with tenant_context(other):
        Membership.objects.create(
            organization=other, user=place.ann, role=Role.objects.get(slug="sales_rep")
        )
    acme_token = _password_token("ann@example.test")
    other_token = obtain_token("ann@example.test", organization="other").json()
    configure(other, idp, sso_required=True)

    # Other's requirement leaves Acme's token alone, and refuses Other's.
    assert bearer(acme_token["token"]).get("/api/v1/me/").status_code == 200
    answer = bearer(other_token["token"]).get("/api/v1/me/")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "sso_required"
    assert len(_refusals(other)) == 1 and _refusals(place.organization) == []


def test_revoked_and_expired_tokens_are_refused_as_before(place, idp):
    revoked = _password_token("ann@example.test")
    expired = _password_token("ann@example.test")
    with tenant_context(place.organization):
        APIToken.objects.filter(pk=revoked["id"]).update(revoked_at=timezone.now())
        APIToken.objects.filter(pk=expired["id"]).update(expires_at=timezone.now())
    _require(place, idp)
    for token in (revoked, expired):
        answer = bearer(token["token"]).get("/api/v1/me/")
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "authentication_failed"
    assert _refusals(place.organization) == []


def _statements(client) -> list[str]:
    """The statements of a token request that are not its view's own table reads."""
    with CaptureQueriesContext(connection) as captured:
        status = client.get("/api/v1/tags/").status_code
    sql = [q["sql"] for q in captured.captured_queries]
    return status, [s for s in sql if '"leads_tag"' not in s and "SAVEPOINT" not in s]


def test_the_policy_costs_a_token_request_no_statement(place, idp):
    """The provider is read by the token's look-up: an accepted request takes
    the same one statement with or without a requirement (the look-up, which sets the
    context); a refusal adds the audit claim and row, once an hour."""
    bob = make_member(place.organization, "sales_rep", email="bob@elsewhere.test")
    bobs = bearer(_password_token(bob.email)["token"])
    anns = bearer(_password_token("ann@example.test")["token"])
    for client in (bobs, anns):
        client.get("/api/v1/me/")  # the first use records the token's use (one write)

    status, before = _statements(bobs)
    assert status == 200 and len(before) == 1, before
    _require(place, idp)
    status, after = _statements(bobs)
    assert status == 200 and len(after) == 1, after
    assert "smartweb_token_lookup" in after[0]  # which reads the provider with the token

    status, refused = _statements(anns)
    assert status == 403
    # The look-up and the context reset; then, the refused request rolled back, the
    # durable audit in a transaction of its own (ADR 0040): its context, the claim of the
    # hour's audit row, the row, and the test transaction's context put back.
    assert len(refused) == 6, refused
    status, again = _statements(anns)
    assert status == 403 and len(again) == 5, again


def test_the_admin_shows_and_filters_the_tokens_that_need_single_sign_on(place, idp):
    _password_token("ann@example.test")
    bob = make_member(place.organization, "sales_rep", email="bob@elsewhere.test")
    _password_token(bob.email)
    # An admin outside the domains, so that their own password session stays.
    admin = admin_client(make_member(place.organization, "org_admin", email="it@elsewhere.test"))

    change = f"/admin/sso/identityprovider/{place.provider.pk}/change/"
    data = form_data(admin.get(change).content.decode())
    data.update(sso_required=["on"])
    answer = admin.post(change, data, follow=True)
    assert answer.status_code == 200
    assert "1 API token(s) of members the provider covers" in answer.content.decode()
    with tenant_context(place.organization):
        assert IdentityProvider.objects.get().sso_required

    page = admin.get("/admin/accounts/apitoken/").content.decode()
    assert page.count("Needs single sign-on") >= 2  # the filter's choice and ann's row
    # The list names each token's member (smartweb.people).
    with tenant_context(place.organization):
        ann = person_name(APIToken.objects.get(user__email="ann@example.test").user)
    bob_name = person_name(bob)
    needing = admin.get("/admin/accounts/apitoken/?status=needs_sso").content.decode()
    assert ann in needing and bob_name not in needing
    active = admin.get("/admin/accounts/apitoken/?status=active").content.decode()
    assert bob_name in active and ann not in active


def test_unlinking_the_identity_withdraws_the_tokens_it_vouched_for(place, idp):
    _require(place, idp)
    vouched = _sso_token("ann@example.test")
    client = bearer(vouched["token"])
    assert client.get("/api/v1/leads/").status_code == 200

    owner = _sso_session("ann@example.test")
    [identity] = owner.get("/api/v1/me/identities/").json()
    assert owner.delete(f"/api/v1/me/identities/{identity['id']}/").status_code == 204

    answer = client.get("/api/v1/leads/")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "sso_required"
    with tenant_context(place.organization):
        stored = APIToken.objects.get(pk=vouched["id"])
    assert stored.revoked_at is None and stored.sso_authorized_at is None
    [unlinked] = audit_rows(place.organization, action=AuditAction.SSO_UNLINKED)
    assert unlinked.details["tokens_withdrawn"] == 1
    # Signing in through the provider again links the identity anew and vouches for a
    # new token; the withdrawn one stays refused.
    again = _sso_token("ann@example.test")
    assert bearer(again["token"]).get("/api/v1/leads/").status_code == 200
    assert client.get("/api/v1/leads/").status_code == 403
