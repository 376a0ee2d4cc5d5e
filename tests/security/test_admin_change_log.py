"""The admin writes no change log (`django_admin_log` held tenant data outside RLS, and
the runtime role may not touch it): its History pages show the history kept under RLS."""

import pytest
from django.contrib import admin

from accounts.models import Team
from smartweb.admin import HistoryNotChangeLogMixin
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import admin_client

pytestmark = pytest.mark.django_db


def test_every_admin_page_writes_no_change_log():
    writing = [
        type(model_admin).__name__
        for model_admin in admin.site._registry.values()
        if not isinstance(model_admin, HistoryNotChangeLogMixin)
    ]
    assert writing == []


def test_a_save_and_a_delete_in_the_admin_work_and_show_in_history(admin_a, org_a, team_a, admin_b):
    client = admin_client(admin_a)

    saved = client.post(f"/admin/accounts/team/{team_a.pk}/change/", {"name": "South"})
    history = client.get(f"/admin/accounts/team/{team_a.pk}/history/")
    deleted = client.post(f"/admin/accounts/team/{team_a.pk}/delete/", {"post": "yes"})

    assert saved.status_code == 302 and deleted.status_code == 302
    assert history.status_code == 200 and "South" in history.content.decode()
    with tenant_context(org_a):
        assert Team.all_objects.get(pk=team_a.pk).is_deleted
    assert (
        admin_client(admin_b).get(f"/admin/accounts/team/{team_a.pk}/history/").status_code == 404
    )


def test_the_history_of_a_row_without_history_is_its_audit_trail(admin_a, rep_a, admin_b):
    response = admin_client(admin_a).get(f"/admin/accounts/user/{rep_a.pk}/history/")

    assert response.status_code == 302
    assert response["Location"] == f"/admin/accounts/auditlog/?target_id={rep_a.pk}"
    assert admin_client(admin_b).get(f"/admin/accounts/user/{rep_a.pk}/history/").status_code == 404
    assert admin_client(admin_a).get("/admin/").status_code == 200  # no "Recent actions"


@pytest.mark.parametrize("page", ["user", "organization"])
@pytest.mark.parametrize("who", ["manager_a", "rep_a", "readonly_a"])
def test_no_history_button_leads_to_an_audit_log_one_cannot_read(request, org_a, page, who):
    user = request.getfixturevalue(who)
    row = user if page == "user" else org_a
    client = admin_client(user)
    change = client.get(f"/admin/accounts/{page}/{row.pk}/change/")
    assert change.status_code == 200
    assert 'class="historylink"' not in change.content.decode()
    assert client.get(f"/admin/accounts/{page}/{row.pk}/history/").status_code == 403


@pytest.mark.parametrize("page", ["user", "organization"])
def test_the_admin_has_the_history_button_to_the_audit_trail(org_a, admin_a, page):
    row = admin_a if page == "user" else org_a
    client = admin_client(admin_a)
    change = client.get(f"/admin/accounts/{page}/{row.pk}/change/").content.decode()
    assert f'href="/admin/accounts/{page}/{row.pk}/history/" class="historylink"' in change
    history = client.get(f"/admin/accounts/{page}/{row.pk}/history/")
    assert history["Location"] == f"/admin/accounts/auditlog/?target_id={row.pk}"
