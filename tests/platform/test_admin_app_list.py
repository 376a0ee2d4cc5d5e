"""The admin's list of apps and models is built once a request: the home page shows it
twice (its own list and the navigation sidebar's), from the same build, and each role
still sees only what it may open."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib import admin
from django.test import Client

from tests.factories import make_member, make_organization, org_admin

pytestmark = pytest.mark.django_db


def _model_names(app_list) -> set[str]:
    return {model["object_name"] for app in app_list for model in app["models"]}


@pytest.mark.parametrize("role", ["org_admin", "sales_rep"])
def test_the_home_page_builds_its_app_list_once(role):
    organization = make_organization()
    user = org_admin(organization) if role == "org_admin" else make_member(organization, role)
    client = Client()
    client.force_login(user)
    build = admin.AdminSite._build_app_dict
    with mock.patch.object(
        admin.AdminSite, "_build_app_dict", autospec=True, side_effect=build
    ) as spy:
        response = client.get("/admin/")
    assert response.status_code == 200
    assert spy.call_count == 1
    listed, sidebar = response.context["app_list"], response.context["available_apps"]
    assert listed is sidebar
    names = _model_names(listed)
    assert "Lead" in names
    # A rep is not shown the organization's administration.
    assert ("Role" in names) is (role == "org_admin")
