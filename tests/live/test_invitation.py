"""An invitation in the browser: the invitee opens the emailed link signed out, sees the
invitation without the back office's navigation (which would tell them they may see
nothing), chooses a name and password, and lands in the organization told they joined."""

from __future__ import annotations

from django.urls import reverse

from accounts.invitations import invitation_create
from accounts.models import Membership, Role, User
from smartweb.tenancy.context import tenant_context
from tests.live import pages


def _invite(email: str) -> str:
    """The path of the link the invitation email carries."""
    tokens = []
    with tenant_context(pages.demo_organization()):
        invitation_create(
            email=email,
            role=Role.objects.get(slug="sales_rep"),
            acting_user=None,
            link=lambda token: tokens.append(token) or f"http://testserver/invitations/{token}/",
        )
    return reverse("invitation-accept", args=[tokens[0]])


def test_a_new_member_joins_from_the_invitation_link(browser, read):
    path = _invite("joiner@invited.example")
    browser.open("/healthz")
    browser.driver.delete_all_cookies()
    browser.open(path)
    assert "Join Demo Web Agency" in browser.find("#content").text
    assert not browser.exists("#nav-sidebar")
    assert "permission" not in browser.find("body").text

    browser.fill("full_name", "Jo Iner")
    browser.fill("password1", "a long passphrase for Jo")
    browser.fill("password2", "a long passphrase for Jo")
    browser.click("input[type=submit]")
    assert browser.path == reverse("admin:index")
    assert browser.messages() == ["You joined Demo Web Agency."]
    user = User.objects.get(email="joiner@invited.example")
    with tenant_context(pages.demo_organization()):
        assert Membership.objects.filter(user=user, role__slug="sales_rep").exists()
