"""A membership's page in the browser names the member and their organization by name,
in its title and in the message of a save, never by the organization's id."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import Membership
from smartweb.tenancy.context import tenant_context
from tests.live import pages


def test_the_membership_page_names_the_organization(browser, read):
    organization = pages.demo_organization()
    with tenant_context(organization):
        membership = Membership.objects.get(user__email=pages.email_of("rep"))
    named = f"{pages.email_of('rep')} in {organization.name}"
    browser.login(pages.email_of("admin"))
    browser.open(reverse("admin:accounts_membership_change", args=[membership.pk]))
    assert named in browser.find("#content h2").text
    browser.save("_continue")
    assert browser.messages() == [
        f"The membership “{named}” was changed successfully. You may edit it again below."
    ]
    assert str(organization.pk) not in browser.find("#content").text
