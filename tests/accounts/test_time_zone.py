"""An organization's time zone: set by `create_organization` (UTC by default), changed by
its admins on its admin page and through the API's organization endpoint, an unknown
name refused at the field with nothing written; a member without the right gets 403,
another organization 404 (docs/decisions/0050)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Organization, User
from tests import factories
from tests.accounts.conftest import admin_client
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db

UNKNOWN = "Europe/Atlantis"


def test_create_organization_takes_a_time_zone_and_defaults_to_utc(capsys):
    call_command(
        "create_organization",
        "Thames Roofing",
        admin_email="owner@thames.test",
        admin_password="a-strong-pass-phrase-42",
        time_zone="Europe/London",
    )
    assert Organization.objects.get(slug="thames-roofing").time_zone == "Europe/London"
    assert "time zone Europe/London" in capsys.readouterr().out

    call_command(
        "create_organization",
        "Anywhere Sites",
        admin_email="owner@anywhere.test",
        admin_password="a-strong-pass-phrase-42",
    )
    assert Organization.objects.get(slug="anywhere-sites").time_zone == "UTC"


def test_create_organization_refuses_an_unknown_time_zone_and_writes_nothing():
    before = Organization.objects.count(), User.objects.count()
    with pytest.raises(CommandError, match=f"time_zone: Unknown time zone “{UNKNOWN}”"):
        call_command(
            "create_organization",
            "Lost Sites",
            admin_email="owner@lost.test",
            admin_password="a-strong-pass-phrase-42",
            time_zone=UNKNOWN,
        )
    assert (Organization.objects.count(), User.objects.count()) == before


def test_an_organization_admin_changes_the_time_zone_through_the_api(org_a, admin_a):
    client = factories.api_client(admin_a, org_a)
    url = f"/api/v1/organizations/{org_a.pk}/"
    assert client.get(url).json()["time_zone"] == "UTC"

    response = client.patch(url, {"time_zone": "Europe/London"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["time_zone"] == "Europe/London"
    org_a.refresh_from_db()
    assert org_a.time_zone == "Europe/London"

    response = client.patch(url, {"time_zone": UNKNOWN, "name": "Renamed"}, format="json")
    assert response.status_code == 400
    assert "Unknown time zone" in str(response.json()["error"]["details"]["time_zone"])
    org_a.refresh_from_db()
    assert (org_a.time_zone, org_a.name) == ("Europe/London", "Acme Web Sales")


def test_only_the_organizations_admins_change_its_time_zone(org_a, org_b, admin_a, rep_a):
    rep = factories.api_client(rep_a, org_a)
    response = rep.patch(f"/api/v1/organizations/{org_a.pk}/", {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 403
    admin = factories.api_client(admin_a, org_a)
    response = admin.patch(f"/api/v1/organizations/{org_b.pk}/", {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 404
    org_a.refresh_from_db()
    org_b.refresh_from_db()
    assert (org_a.time_zone, org_b.time_zone) == ("UTC", "UTC")


def test_a_new_organization_through_the_api_takes_a_time_zone(org_a):
    platform = User.objects.create_superuser("platform@example.test", factories.PASSWORD)
    client = factories.session_client(platform, org_a)
    body = {"name": "Kiwi Sites", "admin_email": "kiwi@example.test", "admin_password": "x" * 20}
    refused = client.post("/api/v1/organizations/", {**body, "time_zone": UNKNOWN}, format="json")
    assert refused.status_code == 400
    assert "time_zone" in refused.json()["error"]["details"]
    assert not Organization.objects.filter(name="Kiwi Sites").exists()
    created = client.post(
        "/api/v1/organizations/", {**body, "time_zone": "Pacific/Auckland"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["time_zone"] == "Pacific/Auckland"


def test_the_admin_page_refuses_an_unknown_time_zone_at_the_field(org_a, admin_a):
    client = admin_client(admin_a)
    url = f"/admin/accounts/organization/{org_a.pk}/change/"
    data = form_data(client.get(url).content.decode(), "organization_form")
    data.update(time_zone=[UNKNOWN], name=["Renamed"])
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["time_zone"], errors
    assert f"Unknown time zone “{UNKNOWN}”" in errors["time_zone"][0]
    org_a.refresh_from_db()
    assert (org_a.time_zone, org_a.name) == ("UTC", "Acme Web Sales")

    data.update(time_zone=["Europe/London"], name=["Acme Web Sales"])
    assert client.post(url, data).status_code == 302
    org_a.refresh_from_db()
    assert org_a.time_zone == "Europe/London"


def test_a_read_only_member_sees_the_time_zone_but_cannot_change_it(org_a, readonly_a):
    client = admin_client(readonly_a)
    url = f"/admin/accounts/organization/{org_a.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="time_zone"' not in page.content.decode()
    assert "UTC" in page.content.decode()
