"""The token look-up through its PL/pgSQL function: the same token, user, organization,
membership, grants and provider as the rows say; under the runtime role's policies (never
a definer's rights), in the context it sets itself; one statement per request."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.models import APIToken, Membership, User, hash_token
from smartweb import access
from smartweb.api import authentication
from smartweb.rbac import Action, Resource
from smartweb.tenancy import context
from smartweb.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _context_cleared():
    """The look-up leaves the context set, as it does for a request, whose middleware
    clears it after; here nothing else would, and the next test would start in it."""
    yield
    context.deactivate()


def _raw_token(user, organization) -> str:
    with tenant_context(organization, user=user):
        _, raw = services.token_create(
            user=user, organization_id=organization.pk, name="lookup", expires_in_days=1
        )
    return raw


def test_the_lookup_reads_the_token_with_its_user_membership_and_grants(org_a, rep_a):
    raw = _raw_token(rep_a, org_a)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            token = authentication.lookup_token(raw)
        assert token is not None and token.is_usable
        assert (token.user, token.organization) == (rep_a, org_a)
        with tenant_context(org_a):
            membership = Membership.objects.get(user=rep_a)
        assert (token.membership.pk, token.membership.role_id) == (
            membership.pk,
            membership.role_id,
        )
        assert token.sso_provider is None
        assert token.membership._role_grants == access.role_grants(membership)
        assert token.membership._role_grants[(Resource.LEADS, Action.READ)] == "own"
        assert token.user._has_object_grants == (org_a.pk, False)
        assert (context.current_organization_id(), context.acting_user()) == (org_a.pk, rep_a)
        assert context.current_membership().pk == membership.pk
        assert _database_context() == (str(org_a.pk), str(rep_a.pk))
    # One statement: the function sets the database's context itself.
    assert len(captured) == 1 and "smartweb_token_lookup" in captured[0]["sql"]


def _database_context() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting(%s, true), current_setting(%s, true)",
            [context.ORGANIZATION_SETTING, context.USER_SETTING],
        )
        return cursor.fetchone()


@pytest.mark.parametrize("refusal", ["revoked", "expired", "inactive user", "unknown key"])
def test_a_refused_token_leaves_no_context(org_a, rep_a, refusal):
    raw = _raw_token(rep_a, org_a)
    with tenant_context(org_a):
        tokens = APIToken.objects.filter(key_hash=hash_token(raw))
        if refusal == "revoked":
            tokens.update(revoked_at=timezone.now())
        elif refusal == "expired":
            tokens.update(expires_at=timezone.now())
    if refusal == "inactive user":
        User.objects.filter(pk=rep_a.pk).update(is_active=False)
    elif refusal == "unknown key":
        raw = raw[:-4] + ("bbbb" if raw.endswith("aaaa") else "aaaa")
    with transaction.atomic():
        assert authentication.lookup_token(raw) is None
        assert (context.current_organization_id(), context.acting_user()) == (None, None)
        assert _database_context() == ("", "")


def test_the_function_reads_in_the_context_it_sets(org_a, org_b, rep_a):
    """It sets the organization it is given and the user of the token it finds, and
    reads with the caller's rights (a definer's would bypass the policies)."""
    raw = _raw_token(rep_a, org_a)
    found = {}
    for organization in (org_a, org_b):
        with transaction.atomic(), connection.cursor() as cursor:
            context.activate(organization_id=org_b.pk if organization == org_a else org_a.pk)
            cursor.execute(
                "SELECT count(*) FROM smartweb_token_lookup(%s, %s)",
                [organization.pk, hash_token(raw)],
            )
            found[organization.slug] = (cursor.fetchone()[0], *_database_context())
    assert found == {
        org_a.slug: (1, str(org_a.pk), str(rep_a.pk)),
        org_b.slug: (0, str(org_b.pk), ""),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosecdef FROM pg_proc WHERE proname = 'smartweb_token_lookup'")
        assert cursor.fetchone() == (False,)
