"""A member changes their own password in the back office: the page asks for the current
one (a wrong one is refused on the form), offers to revoke their API tokens with it, and
the browser stays signed in after. A platform super admin sets another user's password,
revoking that user's tokens too."""

from __future__ import annotations

from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import APIToken, LoginAttempt, User
from smartweb.tenancy.context import tenant_context
from tests.live import pages

NEW_PASSWORD = "a-Long-enough-pw-42"
# The rep's token of the demo (tests/live/conftest.py).
REP_TOKEN = "Rep's integration"


def _change(browser, current: str) -> None:
    browser.fill("old_password", current)
    browser.fill("new_password1", NEW_PASSWORD)
    browser.fill("new_password2", NEW_PASSWORD)
    browser.click("input[type=submit]")


def _rep_token() -> APIToken:
    with tenant_context(pages.demo_organization()):
        return APIToken.objects.get(name=REP_TOKEN)


def _rep_as_seeded(email: str) -> None:
    """The rep's demo password and one active token: other tests of the package revoke
    tokens (every admin action is run as each role), so each test starts from here."""
    user = User.objects.get(email=email)
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])
    LoginAttempt.objects.filter(email=email, success=False).delete()
    with tenant_context(pages.demo_organization()):
        APIToken.objects.filter(name=REP_TOKEN).update(revoked_at=None)


def test_a_rep_changes_their_password_with_the_current_one(browser, read):
    email = pages.email_of("rep")
    _rep_as_seeded(email)
    try:
        browser.login(email)
        browser.click(f"#user-tools a[href='{reverse('admin:password_change')}']")
        assert "You have 1 active API token" in browser.find("#api-tokens").text
        assert browser.find("input[name=revoke_api_tokens]").is_selected()

        _change(browser, "not-the-password")
        assert "The current password is not correct." in browser.errors()
        _change(browser, DEMO_PASSWORD)

        assert browser.path == reverse("admin:password_change_done")
        assert browser.messages() == ["1 API token revoked."]
        assert browser.status(reverse("admin:leads_lead_changelist")) == 200
        assert User.objects.get(email=email).check_password(NEW_PASSWORD)
        assert _rep_token().revoked_at is not None
    finally:
        _rep_as_seeded(email)


def test_a_platform_admin_sets_a_password_and_revokes_the_tokens(browser, read):
    email = pages.email_of("rep")
    rep = User.objects.get(email=email)
    root = User.objects.create_superuser("root@platform.smartweb.test", DEMO_PASSWORD)
    _rep_as_seeded(email)
    try:
        browser.login(root.email)
        browser.open(reverse("admin:auth_user_password_change", args=[rep.pk]))
        assert "They have 1 active API token" in browser.find("#api-tokens").text
        assert browser.find("input[name=revoke_api_tokens]").is_selected()
        browser.fill("password1", NEW_PASSWORD)
        browser.fill("password2", NEW_PASSWORD)
        browser.click("input[name=set-password]")

        assert browser.path == reverse("admin:accounts_user_change", args=[rep.pk])
        assert browser.messages() == ["Password changed successfully."]
        assert User.objects.get(pk=rep.pk).check_password(NEW_PASSWORD)
        assert _rep_token().revoked_at is not None
    finally:
        _rep_as_seeded(email)
        User.objects.filter(pk=root.pk).update(is_active=False)
