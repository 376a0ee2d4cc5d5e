"""Who manages a team is an organization admin's decision: a Sales Manager renames their
own team, but its manager is refused them (API: 400 at `manager`, nothing written; admin:
shown, not offered). Another organization's user gets 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Team
from accounts.services import TEAM_MANAGER_BY_ADMINS
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db


def _stored(organization, team) -> tuple[str, object]:
    with tenant_context(organization):
        stored = Team.objects.get(pk=team.pk)
        return stored.name, stored.manager_id


def test_a_sales_manager_does_not_name_their_teams_manager(org_a, team_a, manager_a, rep_a):
    client = factories.api_client(manager_a, org_a)
    url = f"/api/v1/teams/{team_a.pk}/"

    refused = client.patch(url, {"name": "North-East", "manager": str(rep_a.pk)}, format="json")
    assert refused.status_code == 400, refused.json()
    assert refused.json()["error"]["details"] == {"manager": [TEAM_MANAGER_BY_ADMINS]}
    assert _stored(org_a, team_a) == ("North", None)

    # The name alone, or the manager it has, is theirs to send.
    renamed = client.patch(url, {"name": "North-East", "manager": None}, format="json")
    assert renamed.status_code == 200, renamed.json()
    assert _stored(org_a, team_a) == ("North-East", None)


def test_an_admin_names_a_teams_manager(org_a, team_a, admin_a, manager_a, admin_b):
    url = f"/api/v1/teams/{team_a.pk}/"
    assert factories.api_client(admin_b).patch(url, {"manager": None}).status_code == 404

    named = factories.api_client(admin_a, org_a).patch(
        url, {"manager": str(manager_a.pk)}, format="json"
    )
    assert named.status_code == 200, named.json()
    assert _stored(org_a, team_a) == ("North", manager_a.pk)

    # Kept when a Sales Manager then renames the team.
    renamed = factories.api_client(manager_a, org_a).patch(url, {"name": "N"}, format="json")
    assert renamed.status_code == 200, renamed.json()
    assert _stored(org_a, team_a) == ("N", manager_a.pk)


def test_the_team_page_shows_a_sales_manager_the_manager_read_only(
    org_a, team_a, admin_a, manager_a, rep_a, admin_b
):
    page = reverse("admin:accounts_team_change", args=[team_a.pk])
    client = Client()
    client.force_login(manager_a)
    body = client.get(page).content.decode()
    assert 'name="name"' in body and 'name="manager"' not in body

    # A manager posted anyway is not among the form's fields: the name alone is saved.
    data = form_data(body, "team_form")
    data.update({"name": ["North-East"], "manager": [str(rep_a.pk)]})
    posted = client.post(page, data)
    assert posted.status_code == 302, posted.content.decode()
    assert _stored(org_a, team_a) == ("North-East", None)

    client.force_login(admin_a)
    assert 'name="manager"' in client.get(page).content.decode()
    client.force_login(admin_b)
    assert client.get(page).status_code == 404
