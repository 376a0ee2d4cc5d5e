"""A user's identity is theirs: their profile and password change only by them (or a
platform super admin), and the back office opens through a membership, not a global
flag that another organization could clear."""

import pytest
from django.test import Client

from accounts import services
from accounts.audit import AuditAction
from accounts.models import Membership, User
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client, audit_actions

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-Long-enough-pw-42"


def test_a_user_renames_themselves(rep_a, org_a):
    response = factories.api_client(rep_a, org_a).patch(
        "/api/v1/me/", {"full_name": "Riley Renamed"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["user"]["full_name"] == "Riley Renamed"
    rep_a.refresh_from_db()
    assert rep_a.full_name == "Riley Renamed"


def test_changing_ones_password_needs_the_current_one(rep_a, org_a):
    client = factories.api_client(rep_a, org_a)

    wrong = client.post(
        "/api/v1/me/password/",
        {"current_password": "not-it", "new_password": NEW_PASSWORD},
        format="json",
    )
    weak = client.post(
        "/api/v1/me/password/",
        {"current_password": factories.PASSWORD, "new_password": "123"},
        format="json",
    )
    right = client.post(
        "/api/v1/me/password/",
        {"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert wrong.status_code == 400 and "current_password" in wrong.json()["error"]["details"]
    assert weak.status_code == 400 and "new_password" in weak.json()["error"]["details"]
    assert right.status_code == 204
    rep_a.refresh_from_db()
    assert rep_a.check_password(NEW_PASSWORD)
    assert AuditAction.PASSWORD_CHANGED in audit_actions(org_a)


@pytest.fixture
def user_manager_a(org_a):
    """A member whose custom role may read and update users (memberships)."""
    with tenant_context(org_a):
        services.role_create(
            name="People desk",
            grants={("users", "read"): "all", ("users", "update"): "all"},
        )
    return factories.make_member(org_a, "people-desk")


def test_a_custom_role_with_users_update_does_not_reach_the_admin(user_manager_a, admin_a, org_a):
    second_admin = factories.make_member(org_a, "org_admin")
    client = factories.api_client(user_manager_a, org_a)
    old_name = admin_a.full_name

    profile = client.patch(f"/api/v1/users/{admin_a.pk}/", {"full_name": "Owned"}, format="json")
    deactivate = client.post(f"/api/v1/users/{second_admin.pk}/deactivate/")
    page = admin_client(user_manager_a).post(
        f"/admin/accounts/user/{admin_a.pk}/change/", {"full_name": "Owned"}
    )

    assert profile.status_code == 400 and page.status_code == 403
    assert deactivate.status_code == 403
    admin_a.refresh_from_db()
    assert admin_a.full_name == old_name
    with tenant_context(org_a):
        assert Membership.objects.get(user=second_admin).is_active


def test_a_custom_role_manages_members_with_no_more_rights(user_manager_a, rep_a, org_a):
    client = factories.api_client(user_manager_a, org_a)

    response = client.post(f"/api/v1/users/{rep_a.pk}/deactivate/")

    assert response.status_code == 403  # a rep creates leads; the people desk does not


def test_the_back_office_opens_through_the_membership_not_is_staff(org_a, rep_a):
    # A flag on the global user, which no organization sets any more, changes nothing.
    no_flag = factories.make_member(org_a, "sales_rep", is_staff=False)
    outsider = factories.UserFactory(is_staff=True)

    assert admin_client(no_flag).get("/admin/").status_code == 200
    assert admin_client(outsider).get("/admin/").status_code == 302


def test_a_role_without_the_back_office_or_a_deactivated_membership_is_refused(org_a, rep_a):
    admin = factories.api_client(factories.org_admin(org_a), org_a)
    created = admin.post(
        "/api/v1/roles/",
        {"name": "Integration", "back_office": False, "permissions": []},
        format="json",
    )
    assert created.status_code == 201 and created.json()["back_office"] is False
    integration = factories.make_member(org_a, "integration")
    with tenant_context(org_a):
        Membership.objects.filter(user=rep_a).update(is_active=False)

    assert admin_client(integration).get("/admin/").status_code == 302
    assert admin_client(rep_a).get("/admin/").status_code == 302


def test_the_admin_login_admits_a_member_without_is_staff(org_a):
    member = factories.make_member(org_a, "sales_rep", is_staff=False)
    client = Client()

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": member.email, "password": factories.PASSWORD},
    )

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_new_organizations_existing_admin_keeps_their_flags(admin_a):
    User.objects.filter(pk=admin_a.pk).update()  # flags as they are
    staff_before = admin_a.is_staff

    factories.make_organization("Third", admin_email=admin_a.email)

    admin_a.refresh_from_db()
    assert admin_a.is_staff == staff_before


def signed_in_client(user) -> Client:
    """A browser signed in at the admin's login page (its device recorded)."""
    client = Client()
    response = client.post(
        "/admin/login/", {"username": user.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302, response.content
    return client


def test_a_session_changes_its_name_and_password_through_the_api(rep_a, org_a):
    client = signed_in_client(rep_a)

    renamed = client.patch(
        "/api/v1/me/", {"full_name": "Riley Renamed"}, content_type="application/json"
    )
    changed = client.post(
        "/api/v1/me/password/",
        {"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD},
        content_type="application/json",
    )

    assert renamed.status_code == 200, renamed.content
    assert changed.status_code == 204, changed.content
    rep_a.refresh_from_db()
    assert rep_a.full_name == "Riley Renamed" and rep_a.check_password(NEW_PASSWORD)
    actions = audit_actions(org_a, target_id=str(rep_a.pk))
    assert AuditAction.USER_CHANGED in actions and AuditAction.PASSWORD_CHANGED in actions


def test_a_password_change_signs_the_other_devices_out_and_keeps_this_one(rep_a, org_a):
    this, other = signed_in_client(rep_a), signed_in_client(rep_a)

    response = this.post(
        "/api/v1/me/password/",
        {"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD},
        content_type="application/json",
    )

    assert response.status_code == 204
    assert this.get("/api/v1/me/").status_code == 200
    assert other.get("/api/v1/me/").status_code in (401, 403)
    devices = this.get("/api/v1/me/sessions/").json()["results"]
    assert [d["is_current"] for d in devices if d["revoked_at"] is None] == [True]
    assert len(devices) == 2


def test_wrong_current_passwords_count_as_failed_logins(rep_a, org_a, login_limit):
    client = factories.api_client(rep_a, org_a)
    guesses = [
        client.post(
            "/api/v1/me/password/",
            {"current_password": f"guess-{n}", "new_password": NEW_PASSWORD},
            format="json",
        )
        for n in range(login_limit)
    ]

    right = client.post(
        "/api/v1/me/password/",
        {"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert {g.status_code for g in guesses} == {400}
    assert right.status_code == 429 and right.json()["error"]["code"] == "login_locked"
    assert right["Retry-After"]
    rep_a.refresh_from_db()
    assert rep_a.check_password(factories.PASSWORD)
    failed = audit_actions(org_a, action=AuditAction.LOGIN_FAILED)
    assert len(failed) == login_limit


ADMIN_PASSWORD_PAGE = "/admin/password_change/"


def test_the_admin_asks_for_the_current_password_of_ones_own_account(rep_a, org_a):
    client = signed_in_client(rep_a)
    other = signed_in_client(rep_a)

    django_form = client.get(f"/admin/accounts/user/{rep_a.pk}/password/")
    wrong = client.post(
        ADMIN_PASSWORD_PAGE,
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    right = client.post(
        ADMIN_PASSWORD_PAGE,
        {
            "old_password": factories.PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert django_form.status_code == 302 and django_form["Location"] == ADMIN_PASSWORD_PAGE
    assert wrong.status_code == 200 and b"current password is not correct" in wrong.content
    assert right.status_code == 302, right.content
    rep_a.refresh_from_db()
    assert rep_a.check_password(NEW_PASSWORD)
    assert client.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302
    actions = audit_actions(org_a)
    assert AuditAction.LOGIN_FAILED in actions and AuditAction.PASSWORD_CHANGED in actions


def test_the_admin_password_page_locks_after_wrong_current_passwords(rep_a, org_a, login_limit):
    client = signed_in_client(rep_a)
    for n in range(login_limit):
        client.post(
            ADMIN_PASSWORD_PAGE,
            {
                "old_password": f"guess-{n}",
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )

    response = client.post(
        ADMIN_PASSWORD_PAGE,
        {
            "old_password": factories.PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 200 and b"Too many failed attempts" in response.content
    rep_a.refresh_from_db()
    assert rep_a.check_password(factories.PASSWORD)
