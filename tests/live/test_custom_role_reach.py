"""What custom roles reach, in the browser, on the live server (ADR 0011): the
organization's set-up and its identity provider need organizations:update for the whole
organization; an invitation from a deactivated account is refused at its link; a lead
shared for editing is not set converted by its colleague."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from accounts import services
from accounts.invitations import invitation_create
from accounts.models import Membership, Organization, Role
from leads.choices import LeadStatus
from leads.models import Lead
from sharing.reassigning import NOT_CONVERTED_BY_A_SHARE
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.crm import factories as crm_factories
from tests.live import pages

_numbers = itertools.count(1)
SAVE_BUTTONS = "input[name='_save'], input[name='_continue']"


def _member(name: str, grants: dict):
    """A member of the demo organization whose custom role grants `grants` (and signs in to
    the back office)."""
    n = next(_numbers)
    organization = pages.demo_organization()
    with tenant_context(organization):
        role = services.role_create(name=f"{name} {n}", grants=grants, back_office=True)
    person = factories.UserFactory(email=f"{name.lower().replace(' ', '.')}.{n}@example.test")
    with tenant_context(organization):
        Membership.objects.create(organization=organization, user=person, role=role)
    return person


def _posted(browser, path: str, data: dict) -> int:
    """The status of a form posted as the browser would post it (a hand-made form)."""
    session = browser.session()
    url = browser.base_url + path
    answer = session.post(
        url,
        data={**data, "csrfmiddlewaretoken": session.cookies.get("csrftoken")},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=60,
    )
    return answer.status_code


def test_the_organization_is_read_only_to_an_update_short_of_the_whole_organization(browser, read):
    editor = _member(
        "Office helper",
        {
            (Resource.ORGANIZATIONS, Action.READ): Scope.ALL,
            (Resource.ORGANIZATIONS, Action.UPDATE): Scope.TEAM,
        },
    )
    organization = pages.demo_organization()
    change = reverse("admin:accounts_organization_change", args=[organization.pk])
    browser.login(editor.email, factories.PASSWORD)
    browser.open(change)
    assert organization.name in browser.find("#content").text
    assert not browser.exists(SAVE_BUTTONS)
    form = {"name": "Taken over", "time_zone": "UTC", "settings": "{}"}
    assert _posted(browser, change, form) == 403
    assert Organization.objects.get(pk=organization.pk).name == organization.name


@pytest.mark.parametrize(
    "grants",
    [
        {(Resource.ORGANIZATIONS, Action.CREATE): Scope.ALL},
        {
            (Resource.ORGANIZATIONS, Action.CREATE): Scope.ALL,
            (Resource.ORGANIZATIONS, Action.UPDATE): Scope.TEAM,
        },
    ],
    ids=["create", "create-and-update-team"],
)
def test_no_identity_provider_page_opens_short_of_the_whole_organizations_update(
    browser, read, grants
):
    reads = {(Resource.ORGANIZATIONS, Action.READ): Scope.ALL}
    member = _member("Provider helper", {**reads, **grants})
    browser.login(member.email, factories.PASSWORD)
    add = reverse("admin:sso_identityprovider_add")
    assert browser.status(add) == 403
    assert browser.status(reverse("admin:sso_identityprovider_changelist")) == 403
    browser.open(reverse("admin:index"))
    assert not browser.exists(f"a[href='{reverse('admin:sso_identityprovider_changelist')}']")

    browser.login(pages.email_of("admin"))
    assert browser.status(add) == 200


def test_an_invitation_from_a_deactivated_account_is_refused_at_its_link(browser, read):
    organization = pages.demo_organization()
    sender = _member(
        "Recruiter",
        {(Resource.USERS, Action.CREATE): Scope.ALL, (Resource.USERS, Action.READ): Scope.ALL},
    )
    email = f"invited.{next(_numbers)}@example.test"
    tokens = []
    with tenant_context(organization):
        # Made for them: the recruiter invites, and makes no role.
        guest = services.role_create(name=f"Guest {next(_numbers)}", grants={}, back_office=False)
    with factories.acting_as(sender, organization):
        invitation_create(
            email=email,
            role=guest,
            acting_user=sender,
            link=lambda token: tokens.append(token) or f"http://testserver/invitations/{token}/",
        )
    with tenant_context(organization):
        services.user_update(user=sender, changes={"is_active": False}, acting_user=None)

    browser.open("/healthz")
    browser.driver.delete_all_cookies()
    browser.open(reverse("invitation-accept", args=[tokens[0]]))
    assert "invalid or has expired" in browser.find("#content").text
    assert not browser.exists("[name='password1']")

    browser.login(pages.email_of("admin"))
    browser.open(reverse("admin:accounts_invitation_changelist") + f"?q={email}")
    assert browser.texts("#result_list td.field-status") == ["Lapsed"]


def test_the_status_action_does_not_convert_a_lead_shared_for_editing(browser, read):
    organization = pages.demo_organization()
    with tenant_context(organization):
        rep = Membership.objects.get(user__email=pages.email_of("rep")).user
        sales_rep = Role.objects.get(slug="sales_rep")
    colleague = factories.UserFactory(email=f"colleague.{next(_numbers)}@example.test")
    with tenant_context(organization):
        Membership.objects.create(organization=organization, user=colleague, role=sales_rep)
    lead = crm_factories.qualified_lead(organization, assigned_to=rep)
    factories.share(lead, colleague, organization, by=rep, access="update")

    browser.login(colleague.email, factories.PASSWORD)
    browser.open(reverse("admin:leads_lead_changelist"))
    browser.run_action("change_status_selected", [str(lead.pk)])
    browser.choose("status", value=LeadStatus.CONVERTED)
    browser.click("input[type=submit]")
    messages = browser.messages()
    assert "Changed 0 lead(s)." in messages
    assert any(NOT_CONVERTED_BY_A_SHARE in message for message in messages), messages
    with tenant_context(organization):
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.QUALIFIED
