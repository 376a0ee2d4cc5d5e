"""A membership's page in the browser names the member and their organization by name,
in its title and in the message of a save, never by the organization's id. Members' roles
are shown, in the list and on a member's page, to those who may read roles alone."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import Membership, Role
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


@pytest.mark.parametrize(
    ("role", "reads_roles"),
    [("admin", True), ("manager", True), ("viewer", True), ("rep", False), ("rep2", False)],
)
def test_a_members_role_is_shown_to_those_who_read_roles(browser, read, role, reads_roles):
    """The membership list's role column and filter and a member's role on their page:
    a sales rep reads the members and their teams, not the roles. The page of one who
    may change it saves unchanged as it was."""
    organization = pages.demo_organization()
    with tenant_context(organization):
        membership = Membership.objects.get(user__email=pages.email_of("rep2"))
        role_names = set(Role.objects.values_list("name", flat=True))
    browser.login(pages.email_of(role))

    browser.open(reverse("admin:accounts_membership_changelist"))
    listed = browser.find("#changelist").text
    assert ("Sales Rep" in listed) == reads_roles
    assert bool(role_names & set(browser.texts("#result_list td"))) == reads_roles
    assert browser.exists("#result_list th.column-role") == reads_roles
    assert bool(browser.find_all("#changelist-filter a[href*='role__id__exact']")) == reads_roles

    browser.open(reverse("admin:accounts_membership_change", args=[membership.pk]))
    assert browser.exists(".field-role") == reads_roles
    if browser.exists("input[name='_continue']"):
        pages.save_unchanged(browser, admin.site.get_model_admin(Membership), membership.pk)
