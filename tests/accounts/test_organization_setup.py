"""The organization's set-up (its name, settings and time zone) is one object of the whole
organization: organizations:update reaches it for all of it alone (ADR 0011). A custom
role granting it at own or team scope reads the organization; the API refuses its change
(403), the admin's page shows it read-only and refuses a posted form (403), the service
refuses whoever calls it, and nothing is written. At scope all it is changed."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from accounts import services
from accounts.models import Organization
from smartweb.rbac import Action, Resource, Scope
from tests import factories
from tests.accounts.conftest import admin_client

pytestmark = pytest.mark.django_db

CHANGE = "/admin/accounts/organization/{}/change/"
FORM = {"name": "Taken over", "settings": "{}", "time_zone": "UTC"}


def _editor(organization, admin, scope: Scope):
    """A member whose custom role reads the organization and updates it at `scope`."""
    grants = {
        (Resource.ORGANIZATIONS, Action.READ): Scope.ALL,
        (Resource.ORGANIZATIONS, Action.UPDATE): scope,
    }
    with factories.acting_as(admin, organization):
        role = services.role_create(name=f"Set-up {scope}", grants=grants, acting_user=admin)
    return factories.make_member(organization, role.slug)


def _name(organization) -> str:
    return Organization.objects.get(pk=organization.pk).name


@pytest.mark.parametrize("scope", [Scope.OWN, Scope.TEAM])
def test_organizations_update_short_of_scope_all_changes_nothing(org_a, admin_a, scope):
    editor = _editor(org_a, admin_a, scope)
    url = f"/api/v1/organizations/{org_a.pk}/"
    api = factories.api_client(editor, org_a)
    assert api.get(url).status_code == 200

    refused = api.patch(url, {"name": "Taken over", "time_zone": "Europe/Paris"}, format="json")
    assert refused.status_code == 403, refused.content

    page = admin_client(editor)
    shown = page.get(CHANGE.format(org_a.pk))
    assert shown.status_code == 200
    assert not shown.context["has_change_permission"]
    assert 'name="_save"' not in shown.content.decode()
    assert page.post(CHANGE.format(org_a.pk), FORM).status_code == 403

    with factories.acting_as(editor, org_a), pytest.raises(PermissionDenied):
        services.organization_update(
            organization=org_a, changes={"name": "Taken over"}, acting_user=editor
        )
    stored = Organization.objects.get(pk=org_a.pk)
    assert (stored.name, stored.time_zone) == (org_a.name, org_a.time_zone)


def test_organizations_update_for_the_whole_organization_changes_it(org_a, admin_a, org_b):
    editor = _editor(org_a, admin_a, Scope.ALL)
    api = factories.api_client(editor, org_a)
    answer = api.patch(f"/api/v1/organizations/{org_a.pk}/", {"name": "Renamed"}, format="json")
    assert answer.status_code == 200, answer.content
    assert _name(org_a) == "Renamed"

    saved = admin_client(editor).post(CHANGE.format(org_a.pk), FORM)
    assert saved.status_code == 302
    assert _name(org_a) == "Taken over"

    # Another organization is not theirs to read, nor to change.
    other = api.patch(f"/api/v1/organizations/{org_b.pk}/", {"name": "Mine"}, format="json")
    assert other.status_code == 404
    assert admin_client(editor).post(CHANGE.format(org_b.pk), FORM).status_code == 404
    assert _name(org_b) == org_b.name
