"""A role that grants more than the acting member holds, in the browser: a member who
may manage roles but holds fewer rights than the role opens its page read-only (no field
to type in, no save, no delete), and a change posted anyway is refused with nothing
written; a role within their own rights stays theirs to edit, and saved unchanged it
stays as it was. The organization admin saves the wider role unchanged too."""

from __future__ import annotations

import itertools

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts import services
from accounts.models import Membership, Role, RolePermission
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.live import pages

_numbers = itertools.count(1)
ROLE_ADMIN = admin.site.get_model_admin(Role)


@pytest.fixture
def roles(read):
    """(the keeper, their role, a wider role): the keeper may create, read, change and
    delete roles and nothing else; the wider role also reads every lead."""
    n = next(_numbers)
    organization = pages.demo_organization()
    keeping = {(Resource.ROLES, action): Scope.ALL for action in Action}
    with tenant_context(organization):
        own = services.role_create(name=f"Role keeper {n}", grants=keeping, back_office=True)
        wider = services.role_create(
            name=f"Lead reader {n}",
            grants={**keeping, (Resource.LEADS, Action.READ): Scope.ALL},
            back_office=True,
        )
    keeper = factories.UserFactory(email=f"role.keeper.{n}@example.test")
    with tenant_context(organization):
        Membership.objects.create(organization=organization, user=keeper, role=own)
    return keeper, own, wider


def _change(role) -> str:
    return reverse("admin:accounts_role_change", args=[role.pk])


def _stored(role) -> tuple:
    with tenant_context(pages.demo_organization()):
        stored = Role.objects.get(pk=role.pk)
        grants = sorted(
            RolePermission.objects.filter(role=role).values_list("resource", "action", "scope")
        )
    return stored.name, stored.slug, stored.description, stored.back_office, grants


def test_a_wider_role_is_read_only_to_a_role_keeper(browser, roles):
    keeper, own, wider = roles
    before = _stored(wider)
    browser.login(keeper.email, factories.PASSWORD)

    browser.open(_change(wider))
    assert browser.errors() == []
    assert wider.name in browser.find(".field-name .readonly").text
    for field in ("name", "slug", "description", "back_office"):
        assert not browser.exists(f"#content-main [name='{field}']"), f"{field} is editable"
    assert not browser.exists("input[name='_save'], input[name='_continue']")
    assert not browser.exists("a.deletelink")
    assert not browser.exists("[name^='permissions-'][name$='-scope']"), "grants editable"
    assert browser.status(reverse("admin:accounts_role_delete", args=[wider.pk])) == 403

    # Posted anyway, with the management form a page would send: refused.
    session = browser.session()
    posted = session.post(
        browser.base_url + _change(wider),
        data={
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "name": "Narrowed",
            "slug": "narrowed",
            "description": "",
            "back_office": "on",
            "permissions-TOTAL_FORMS": "0",
            "permissions-INITIAL_FORMS": "0",
            "_save": "Save",
        },
        headers={"Referer": browser.base_url + _change(wider)},
        allow_redirects=False,
        timeout=60,
    )
    assert posted.status_code == 403
    assert _stored(wider) == before


def test_a_role_within_the_keepers_rights_is_theirs_to_save(browser, roles):
    keeper, own, _ = roles
    browser.login(keeper.email, factories.PASSWORD)
    browser.open(_change(own))
    assert browser.exists("#content-main input[name='name']"), "their own role is editable"
    before = _stored(own)
    pages.save_unchanged(browser, ROLE_ADMIN, own.pk)
    assert _stored(own) == before


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_the_wider_role_saved_unchanged_by_who_may_or_opened_by_who_reads(browser, roles, role):
    _, _, wider = roles
    before = _stored(wider)
    browser.login(pages.email_of(role))
    browser.open(_change(wider))
    assert browser.errors() == []
    if role == "admin":
        pages.save_unchanged(browser, ROLE_ADMIN, wider.pk)
    else:
        # The manager reads roles, and changes none.
        assert not browser.exists("input[name='_save'], input[name='_continue']")
    assert _stored(wider) == before
