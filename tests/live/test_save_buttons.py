"""An add page offers the buttons whose page its user may use, in Chromium: "Save and
continue editing" leads to the row's page to change it, and is not offered to whoever may
add a row but not change it afterwards (a sales rep's tag, which takes a team's scope to
rename; a consent record, which nobody changes), where it led to a read-only page. Saved,
their row is added and the list shown; a manager's "Save and continue editing" leads to
the tag's page to edit."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from compliance.models import ConsentRecord
from crm.models import Task
from leads.models import Tag
from smartweb.tenancy.context import tenant_context
from tests.live import pages

_numbers = itertools.count(1)
SAVE = "_save"
ADD_ANOTHER = "_addanother"
CONTINUE = "_continue"


def _add(model) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_add")


def _names(browser) -> set[str]:
    return set(
        browser.read(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.name)",
            ".submit-row input[type=submit]",
        )
    )


@pytest.mark.parametrize(
    ("role", "model", "offered"),
    [
        ("rep", Tag, {SAVE, ADD_ANOTHER}),
        ("manager", Tag, {SAVE, ADD_ANOTHER, CONTINUE}),
        ("admin", Tag, {SAVE, ADD_ANOTHER, CONTINUE}),
        ("rep", ConsentRecord, {SAVE, ADD_ANOTHER}),
        ("admin", ConsentRecord, {SAVE, ADD_ANOTHER}),
        ("rep", Task, {SAVE, ADD_ANOTHER, CONTINUE}),
        ("viewer", Task, None),
    ],
)
def test_an_add_page_offers_the_buttons_its_user_may_follow(browser, role, model, offered):
    browser.login(pages.email_of(role))
    if offered is None:
        assert browser.status(_add(model)) == 403
        return
    browser.open(_add(model))
    assert _names(browser) == offered


def _add_tag(browser, role: str, name: str, button: str) -> None:
    """As `role`, a tag named `name` added on its page with `button`."""
    browser.login(pages.email_of(role))
    browser.open(_add(Tag))
    browser.fill("name", name)
    browser.save(button)


def test_a_rep_saves_a_tag_and_sees_the_list(browser, read):
    name = f"Needs photos {next(_numbers)}"
    _add_tag(browser, "rep", name, SAVE)
    assert browser.path.split("?")[0] == reverse("admin:leads_tag_changelist")
    assert any("was added successfully" in said for said in browser.messages())
    with tenant_context(pages.demo_organization()):
        assert Tag.objects.filter(name=name).exists()


def test_a_manager_continues_editing_the_tag_they_added(browser, read):
    name = f"Roofers {next(_numbers)}"
    _add_tag(browser, "manager", name, CONTINUE)
    with tenant_context(pages.demo_organization()):
        tag = Tag.objects.get(name=name)
    assert browser.path == reverse("admin:leads_tag_change", args=[tag.pk])
    assert browser.values("input[name='name']") == [name], "the name is a field to type in"
    assert SAVE in _names(browser)
