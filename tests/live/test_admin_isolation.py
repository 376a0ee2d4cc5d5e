"""Isolation and scope in the admin, on the live server: another organization's admin
gets a 404 for each of the demo organization's rows and never sees them offered; the
"Assigned to" of a lead offers whom the user may assign to (the rep: themselves; the
manager: their team; the admin: every active member)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Membership, Organization, User
from smartweb.tenancy.context import tenant_context
from tests.live import pages

TENANT_ADMINS = {
    a.model._meta.label: a
    for a in pages.registered_admins()
    if a.model not in (User, Organization)
    and a.model._meta.managed
    and not getattr(a, "platform_only", False)
}


@pytest.mark.parametrize("label", sorted(TENANT_ADMINS))
def test_another_organizations_admin_gets_404_for_each_row(browser, read, label):
    model = TENANT_ADMINS[label].model
    with tenant_context(pages.demo_organization()):
        row = model._base_manager.order_by("pk").first()
    if row is None:
        pytest.skip(f"the demo organization has no {label} row")
    opts = model._meta
    browser.login(pages.email_of("admin", "northwind"))
    for view in ("change", "history", "delete"):
        path = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[row.pk])
        assert browser.status(path) == 404, f"{view} of a demo row"


@pytest.mark.parametrize("label", ["leads.Lead", "crm.Task", "crm.Proposal", "leads.Interaction"])
def test_another_organizations_admin_is_offered_none_of_its_rows(browser, read, label):
    opts = TENANT_ADMINS[label].model._meta
    browser.login(pages.email_of("admin", "northwind"))
    browser.open(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    for name, _ in browser.dropdowns():
        related = pages.relation_of(TENANT_ADMINS[label].model, name)
        if related is not None and "__prefix__" not in name:
            values = list(browser.options(name))
            assert pages.foreign_options(related, values, "northwind") == [], name


def _team_of(email: str) -> set[str]:
    with tenant_context(pages.demo_organization()):
        team = Membership.objects.get(user__email=email).team_id
        return {
            str(pk)
            for pk in Membership.objects.filter(team_id=team, is_active=True).values_list(
                "user_id", flat=True
            )
        }


def _members() -> set[str]:
    with tenant_context(pages.demo_organization()):
        return {
            str(pk)
            for pk in Membership.objects.filter(is_active=True).values_list("user_id", flat=True)
        }


@pytest.mark.parametrize("role", pages.ROLES)
def test_assigned_to_offers_whom_the_user_may_assign_to(browser, read, role):
    email = pages.email_of(role)
    expected = {
        "rep": {str(User.objects.get(email=email).pk)},
        "manager": _team_of(email),
        "admin": _members(),
    }[role]
    browser.login(email)
    browser.open(reverse("admin:leads_lead_add"))
    assert set(browser.options("assigned_to")) == expected
    assert browser.selected("assigned_to") == [str(User.objects.get(email=email).pk)]
    browser.open(reverse("admin:crm_task_add"))
    assert set(browser.options("assigned_to")) == expected


def _out_of_reach(label: str, email: str):
    """A row of `label` the user may not read: a lead not theirs, a company neither its
    lead's nor recorded by them."""
    from leads.models import Company, Lead

    with tenant_context(pages.demo_organization()):
        if label == "lead":
            return Lead.objects.exclude(assigned_to__email=email).order_by("pk").first()
        return (
            Company.objects.exclude(lead__assigned_to__email=email)
            .exclude(created_by__email=email)
            .order_by("pk")
            .first()
        )


@pytest.mark.parametrize(
    ("add_page", "field"),
    [
        ("admin:crm_task_add", "lead"),
        ("admin:leads_interaction_add", "lead"),
        ("admin:compliance_consentrecord_add", "lead"),
        ("admin:leads_lead_add", "company"),
    ],
)
def test_an_add_page_names_no_prefilled_row_out_of_the_reps_scope(browser, read, add_page, field):
    """`?lead=<id>` on an add page showed the label of any lead of the organization (a raw
    id input's, an autocomplete's selected option), `?company=` any company."""
    email = pages.email_of("rep")
    row = _out_of_reach(field, email)
    assert row is not None, f"the demo has no {field} outside the rep's scope"
    browser.login(email)
    browser.open(f"{reverse(add_page)}?{field}={row.pk}")
    # The page's own address (the organization switcher's form) repeats the query.
    page = browser.driver.page_source.replace(f"{field}={row.pk}", "")
    assert browser.exists(f"[name={field}]"), "the add page did not open"
    assert str(row.pk) not in page
