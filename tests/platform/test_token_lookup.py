"""The token look-up through its PL/pgSQL function: the same token, user, organization,
membership, grants and provider as the rows say; under the caller's policies (never a
definer's rights); one statement per request."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import Membership, hash_token
from smartweb import access
from smartweb.api import authentication
from smartweb.rbac import Action, Resource
from smartweb.tenancy import context
from smartweb.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


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
    lookups = [q["sql"] for q in captured if "smartweb_token_lookup" in q["sql"]]
    assert len(lookups) == 1 and len(captured) == 2  # the context, then the look-up


def test_the_function_runs_under_the_callers_policies(org_a, org_b, rep_a):
    """Called in another organization's context, it finds nothing: its statement is read
    with the caller's rights, like any other (a definer's would bypass the policies)."""
    raw = _raw_token(rep_a, org_a)
    found = {}
    for organization in (org_a, org_b):
        with transaction.atomic(), connection.cursor() as cursor:
            context.activate(organization_id=organization.pk)
            cursor.execute(
                "SELECT count(*) FROM smartweb_token_lookup(%s, %s)", [org_a.pk, hash_token(raw)]
            )
            found[organization.slug] = cursor.fetchone()[0]
    assert found == {org_a.slug: 1, org_b.slug: 0}
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosecdef FROM pg_proc WHERE proname = 'smartweb_token_lookup'")
        assert cursor.fetchone() == (False,)
