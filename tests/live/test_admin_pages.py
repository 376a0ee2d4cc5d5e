"""Every registered admin model, as the demo admin, manager and rep, on the live server:
the list, the add page, a real row's change page and its history open (200, or 403 where
the role may not; never a 5xx or a redirect loop); every dropdown offers the
organization's rows and no other organization's; autocomplete answers likewise; and
saving a change page unchanged leaves the row, its links and its inlines' rows as they
were."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from leads.models import Tag
from smartweb.tenancy.context import tenant_context
from tests.live import pages

ADMINS = {a.model._meta.label: a for a in pages.registered_admins()}


def _url(model_admin, view: str, *args) -> str:
    opts = model_admin.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def as_role(browser):
    def login(role: str):
        browser.login(pages.email_of(role))
        return browser

    return login


@pytest.mark.parametrize("role", pages.ROLES)
@pytest.mark.parametrize("label", sorted(ADMINS))
def test_pages_dropdowns_and_an_unchanged_save(as_role, read, role, label):
    model_admin = ADMINS[label]
    browser = as_role(role)
    list_status = browser.status(_url(model_admin, "changelist"))
    assert list_status in (200, 403), f"list answered {list_status}"
    if getattr(model_admin, "platform_only", False):
        assert list_status == 403, "a global table's page is for platform super admins"
    elif role == "admin":
        assert list_status == 200, "the organization admin may read every page"
    add_status = browser.status(_url(model_admin, "add"))
    assert add_status in (200, 403), f"add page answered {add_status}"
    if add_status == 200:
        browser.open(_url(model_admin, "add"))
        _check_dropdowns(browser, model_admin)
    if list_status != 200:
        return
    browser.open(_url(model_admin, "changelist"))
    links = browser.result_links()
    if not links:
        pytest.skip(f"the {role} sees no {label} row in the demo data")
    change_path = links[0]
    assert browser.status(change_path) == 200
    # Its history: the versions kept under RLS, or the row's audit trail (a redirect to
    # the audit log, which a role without it may not read).
    history_status = browser.status(change_path.replace("/change/", "/history/"))
    assert history_status in (200, 403), f"history answered {history_status}"
    browser.open(change_path)
    _check_dropdowns(browser, model_admin)
    _check_autocomplete(browser, model_admin)
    if not browser.exists("input[name='_continue']"):
        return
    pages.save_unchanged(browser, model_admin, change_path.rstrip("/").split("/")[-2])


def _check_dropdowns(browser, model_admin) -> None:
    for name, autocomplete in browser.dropdowns():
        if "__prefix__" in name:
            continue
        related = pages.relation_of(model_admin.model, name)
        if related is None:
            continue
        values = list(browser.options(name))
        assert pages.foreign_options(related, values) == [], f"{name} offers foreign rows"
        if not autocomplete and pages.has_candidates(related):
            assert values, f"{name} offers nothing, though the organization has rows"


def _check_autocomplete(browser, model_admin) -> None:
    opts = model_admin.model._meta
    session = requests.Session()
    for cookie in browser.driver.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    for field_name in model_admin.get_autocomplete_fields(None):
        response = session.get(
            f"{browser.base_url}{reverse('admin:autocomplete')}",
            params={
                "app_label": opts.app_label,
                "model_name": opts.model_name,
                "field_name": field_name,
            },
            timeout=60,
        )
        assert response.status_code in (200, 403), f"autocomplete of {field_name}"
        if response.status_code != 200:
            continue
        values = [row["id"] for row in response.json()["results"]]
        related = opts.get_field(field_name).related_model
        assert pages.foreign_options(related, values) == [], f"{field_name} offers foreign rows"
        assert pages.deleted_options(related, values) == [], f"{field_name} offers the trash"
        if pages.has_candidates(related):
            assert values, f"autocomplete of {field_name} offers nothing"


def test_autocomplete_offers_no_row_in_the_trash(browser, read):
    with tenant_context(pages.demo_organization()):
        Tag.objects.create(name="Binned kept")
        Tag.objects.create(name="Binned gone").delete()
    browser.login(pages.email_of("admin"))
    response = browser.session().get(
        browser.base_url + reverse("admin:autocomplete"),
        params={
            "app_label": "leads",
            "model_name": "leadtag",
            "field_name": "tag",
            "term": "Binned",
        },
        timeout=60,
    )
    assert [row["text"] for row in response.json()["results"]] == ["Binned kept"]
