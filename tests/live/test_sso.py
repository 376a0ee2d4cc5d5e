"""Single sign-on in the browser: from the admin's sign-in page to the organization's
identity provider (a real OpenID Connect provider on this machine), its sign-in and
consent pages, and back into the admin signed in (authorization code with PKCE)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from selenium.webdriver.common.by import By

from accounts.audit import AuditAction
from accounts.models import AuditLog, OAuthAccount, Organization
from smartweb.tenancy.context import tenant_context
from sso import services
from sso.models import IdentityProvider
from tests.live import pages
from tests.live.conftest import DEMO_DISCOVERY_URL
from tests.oidc_provider.server import CLIENT_ID, CLIENT_SECRET, PASSWORD, identity_provider


@pytest.fixture(scope="module")
def demo_provider(live_url, django_db_blocker):
    """The demo organization's provider points at the local one while the module runs."""
    with identity_provider([f"{live_url}/sso/callback/"]) as idp, django_db_blocker.unblock():
        organization = Organization.objects.get(slug="demo")
        _point(organization, idp.discovery_url, CLIENT_ID, CLIENT_SECRET)
        yield idp
        _point(organization, DEMO_DISCOVERY_URL, "demo-client", "demo-client-secret")
        OAuthAccount.objects.filter(user__email__endswith="@demo.smartweb.test").delete()


def _point(organization, discovery_url: str, client_id: str, client_secret: str) -> None:
    with override_settings(SSO_ALLOW_PRIVATE_ADDRESSES=True), tenant_context(organization):
        services.provider_save(
            provider=IdentityProvider.objects.get(),
            changes={"discovery_url": discovery_url, "client_id": client_id},
            client_secret=client_secret,
            acting_user=None,
        )


def test_a_manager_signs_in_through_the_identity_provider(browser, demo_provider, read):
    email = pages.email_of("manager")
    browser.open("/healthz")
    browser.driver.delete_all_cookies()
    browser.open("/admin/login/")
    browser.fill("organization", "demo")
    browser.click("#sso-sign-in")
    # The provider's own sign-in page, on its own server.
    assert browser.driver.current_url.startswith(demo_provider.url)
    browser.driver.find_element(By.NAME, "username").send_keys(email)
    browser.driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.click("#idp-login input[type=submit]")
    # Its consent page, then back to the admin, signed in.
    browser.click("input[name=allow]")
    assert browser.driver.current_url.startswith(browser.base_url)
    assert browser.exists("#user-tools"), browser.driver.page_source[:2000]
    assert browser.path == "/admin/"
    organization = Organization.objects.get(slug="demo")
    with tenant_context(organization):
        logins = AuditLog.objects.filter(action=AuditAction.LOGIN, actor__email=email)
        assert logins.filter(details__method="sso").exists()
        assert AuditLog.objects.filter(action=AuditAction.SSO_LINKED, actor__email=email).exists()
