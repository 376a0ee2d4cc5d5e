"""Two-factor authentication in the browser: a manager sets up an authenticator on their
Two-factor page (the QR code and the key are shown), keeps the recovery codes, and from
then on signs in with a code after the password."""

from __future__ import annotations

import time
from base64 import b32decode

from django.urls import reverse
from django_otp.oath import TOTP
from selenium.webdriver.common.by import By

from accounts import two_factor
from accounts.demo import DEMO_PASSWORD
from accounts.models import User
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
