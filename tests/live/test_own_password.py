"""A member changes their own password in the back office: the page asks for the current
one (a wrong one is refused on the form), and the browser stays signed in after."""

from __future__ import annotations

from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import LoginAttempt, User
from tests.live import pages

NEW_PASSWORD = "a-Long-enough-pw-42"


def _change(browser, current: str) -> None:
    browser.fill("old_password", current)
    browser.fill("new_password1", NEW_PASSWORD)
    browser.fill("new_password2", NEW_PASSWORD)
    browser.click("input[type=submit]")


def test_a_rep_changes_their_password_with_the_current_one(browser):
    email = pages.email_of("rep")
    try:
        browser.login(email)
        browser.click(f"#user-tools a[href='{reverse('admin:password_change')}']")

        _change(browser, "not-the-password")
        assert "The current password is not correct." in browser.errors()
        _change(browser, DEMO_PASSWORD)

        assert browser.path == reverse("admin:password_change_done")
        assert browser.status(reverse("admin:leads_lead_changelist")) == 200
        assert User.objects.get(email=email).check_password(NEW_PASSWORD)
    finally:
        user = User.objects.get(email=email)
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        LoginAttempt.objects.filter(email=email, success=False).delete()
