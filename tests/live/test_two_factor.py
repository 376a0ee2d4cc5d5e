"""Two-factor authentication in the browser: a manager sets up an authenticator on their
Two-factor page (the QR code and the key are shown), keeps the recovery codes, and from
then on signs in with a code after the password; having lost the phone, they replace the
authenticator with a recovery code."""

from __future__ import annotations

import time
from base64 import b32decode, b32encode

from django.urls import reverse
from django_otp.oath import TOTP
from selenium.webdriver.common.by import By

from accounts import two_factor
from accounts.audit import AuditAction
from accounts.demo import DEMO_PASSWORD
from accounts.models import AuditLog, LoginAttempt, User
from smartweb.tenancy.context import tenant_context
from tests.live import pages


def _code(secret: str, steps_ahead: int) -> str:
    totp = TOTP(b32decode(secret))
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def test_a_manager_sets_up_two_factor_and_signs_in_with_a_code(browser, read):
    email = pages.email_of("manager")
    try:
        browser.login(email)
        browser.click("#user-tools a[href='/admin/two-factor/']")
        browser.click("button[value=start]")
        assert browser.exists(".qr-code svg")
        secret = browser.texts("#totp-secret")[0]
        browser.fill("code", _code(secret, 0))
        browser.click("button[value=confirm]")
        assert len(browser.texts("#recovery-codes code")) == two_factor.RECOVERY_CODES

        browser.driver.delete_all_cookies()
        browser.open("/admin/login/")
        browser.driver.find_element(By.NAME, "username").send_keys(email)
        browser.driver.find_element(By.NAME, "password").send_keys(DEMO_PASSWORD)
        browser.click("input[type=submit]")
        assert browser.path == reverse("admin:second_factor")
        assert not browser.exists("#user-tools")
        # Not signed in yet: no back-office navigation saying there is nothing to see.
        assert not browser.exists("#nav-sidebar")

        browser.fill("code", "000000" if _code(secret, 1) != "000000" else "111111")
        browser.click("input[type=submit]")
        assert "That code is not valid, or was used already." in browser.errors()
        browser.fill("code", _code(secret, 1))
        browser.click("input[type=submit]")
        assert browser.exists("#user-tools")
        assert browser.status(reverse("admin:leads_lead_changelist")) == 200
    finally:
        two_factor.remove(User.objects.get(email=email))


def _password_step(browser, email: str) -> None:
    browser.open("/admin/login/")
    browser.driver.find_element(By.NAME, "username").send_keys(email)
    browser.driver.find_element(By.NAME, "password").send_keys(DEMO_PASSWORD)
    browser.click("input[type=submit]")
    assert browser.path == reverse("admin:second_factor")


def _mail_to(sink, email: str, subject: str, timeout: float = 10.0) -> list[str]:
    """The bodies of the messages to `email` with `subject` the server sent, waiting for
    the first one."""
    deadline = time.monotonic() + timeout
    while True:
        bodies = [
            message.get_content()
            for message in list(sink.received)
            if message["To"] == email and message["Subject"] == subject
        ]
        if bodies or time.monotonic() > deadline:
            return bodies
        time.sleep(0.1)


def test_a_lost_authenticator_is_replaced_with_a_recovery_code(browser, read, mail_server):
    """The manager lost the phone: signed in with a recovery code, they replace the
    authenticator with another, are told by email, and sign in with the new one; the
    recovery code used for it works no more."""
    email = pages.email_of("manager")
    user = User.objects.get(email=email)
    lost = two_factor.start_enrolment(user)
    codes = two_factor.confirm_enrolment(user, _code(b32encode(lost.bin_key).decode(), 0))
    try:
        browser.open("/healthz")
        browser.driver.delete_all_cookies()
        _password_step(browser, email)
        browser.fill("code", codes[0])
        browser.click("input[type=submit]")
        assert browser.exists("#user-tools")

        browser.click("#user-tools a[href='/admin/two-factor/']")
        browser.fill("code", "not-a-recovery-code")
        browser.click("button[value=replace]")
        assert "That code is not valid, or was used already." in browser.errors()
        browser.fill("code", codes[1])
        browser.click("button[value=replace]")
        assert browser.exists("#replacing") and browser.exists(".qr-code svg")
        secret = browser.texts("#totp-secret")[0]
        browser.fill("code", _code(secret, 0))
        browser.click("button[value=confirm]")
        assert len(browser.texts("#recovery-codes code")) == two_factor.RECOVERY_CODES

        notices = _mail_to(mail_server[0], email, "Your two-factor authenticator was replaced")
        assert len(notices) == 1 and "one of your recovery codes" in notices[0]
        with tenant_context(pages.demo_organization()):
            events = AuditLog.objects.filter(
                action=AuditAction.TWO_FACTOR_REPLACED, target_id=str(user.pk)
            )
            # How many other sessions were signed out depends on the tests run before.
            assert [event.details["proof"] for event in events] == ["recovery_code"]
            assert isinstance(events[0].details["signed_out_sessions"], int)

        browser.click("#logout-form button")
        assert not browser.exists("#user-tools")
        _password_step(browser, email)
        browser.fill("code", codes[1])
        browser.click("input[type=submit]")
        assert "That code is not valid, or was used already." in browser.errors()
        browser.fill("code", _code(secret, 1))
        browser.click("input[type=submit]")
        assert browser.exists("#user-tools")
        assert browser.status(reverse("admin:leads_lead_changelist")) == 200
    finally:
        two_factor.remove(user)
        LoginAttempt.objects.filter(email=email, success=False).delete()
